// decap-server's git middleware on a Unix socket, not a TCP port: only the admin
// server (runner/cms/server.py), which checks every request first, can reach it.
// The socket lives in a folder only its owner can open (runner/cms/proxy.py makes it).
// Usage: node decap_socket.js <decap-server's dist/index.js> <socket path>
"use strict";
const { createRequire } = require("module");
const [decapIndex, socketPath] = process.argv.slice(2);
const fromDecap = createRequire(decapIndex); // its own express, as it would load it
const express = fromDecap("express");
const { registerLocalGit } = fromDecap("./middlewares.js");

const app = express();
registerLocalGit(app, { logLevel: process.env.LOG_LEVEL || "warn" }).then(() => {
  app.listen(socketPath, () => console.log("listening on " + socketPath));
}, (error) => {
  console.error(error && error.message ? error.message : String(error));
  process.exit(1);
});
