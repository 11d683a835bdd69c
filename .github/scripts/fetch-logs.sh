#!/usr/bin/env bash
# Fetch the webhook logs from where the receiver stores them into $BANDITORE_WEBHOOK_LOGS.
#
# The source is chosen by BANDITORE_LOGS_SOURCE (a repository variable):
#   ssh  rsync over SSH from the receiver host, with a read-only deploy key
#   s3   an S3-compatible bucket the receiver host copies the logs to
#   git  a private git repository the receiver host commits the logs to
# docs/town-setup.md ("Where the logs live") explains how to set up each one.
#
# The logs hold citizens' phone numbers: this script prints counts only, never
# a file's content, and keeps keys in a private temporary folder it removes.
#
# Any failure stops it with a non-zero exit, which fails the workflow's run
# (the workflow never swallows it), and so does a fetch that brings no log file:
# a receiver that has run has written at least one.
set -euo pipefail

dest="${BANDITORE_WEBHOOK_LOGS:-webhook-logs}"
kind="${BANDITORE_LOGS_SOURCE:-}"

fail() {
    echo "::error title=Webhook logs::$*" >&2
    exit 1
}

need() {
    local name
    for name in "$@"; do
        [ -n "${!name:-}" ] || fail "$name is not set (BANDITORE_LOGS_SOURCE=$kind): see docs/town-setup.md, 'Where the logs live'."
    done
}

mkdir -p "$dest"
chmod 700 "$dest"
private="$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/banditore-logs.XXXXXX")"
trap 'rm -rf "$private"' EXIT

case "$kind" in
ssh)
    need BANDITORE_LOGS_SSH_TARGET BANDITORE_LOGS_SSH_KEY BANDITORE_LOGS_SSH_KNOWN_HOSTS
    (umask 077 && printf '%s\n' "$BANDITORE_LOGS_SSH_KEY" >"$private/key")
    printf '%s\n' "$BANDITORE_LOGS_SSH_KNOWN_HOSTS" >"$private/known_hosts"
    # "user@host:" (an rrsync-restricted key) names the folder itself; a path
    # gets a trailing slash so that its content, not the folder, is copied.
    from="$BANDITORE_LOGS_SSH_TARGET"
    case "$from" in
    *: | */) ;;
    *) from="$from/" ;;
    esac
    # The host key is pinned (StrictHostKeyChecking=yes): never trust on first use.
    rsync --recursive --times --compress --quiet \
        --include='*.jsonl' --include='*.jsonl.gz' --exclude='*' \
        --rsh="ssh -i '$private/key' -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile='$private/known_hosts'" \
        "$from" "$dest/"
    ;;
s3)
    need BANDITORE_LOGS_S3_URI AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
    endpoint=()
    if [ -n "${BANDITORE_LOGS_S3_ENDPOINT:-}" ]; then
        endpoint=(--endpoint-url "$BANDITORE_LOGS_S3_ENDPOINT")
    fi
    aws s3 sync "${endpoint[@]}" --only-show-errors --exact-timestamps \
        --exclude '*' --include '*.jsonl' --include '*.jsonl.gz' \
        "${BANDITORE_LOGS_S3_URI%/}/" "$dest/"
    ;;
git)
    need BANDITORE_LOGS_GIT_URL
    if [ -n "${BANDITORE_LOGS_SSH_KEY:-}" ]; then
        need BANDITORE_LOGS_SSH_KNOWN_HOSTS
        (umask 077 && printf '%s\n' "$BANDITORE_LOGS_SSH_KEY" >"$private/key")
        printf '%s\n' "$BANDITORE_LOGS_SSH_KNOWN_HOSTS" >"$private/known_hosts"
        export GIT_SSH_COMMAND="ssh -i '$private/key' -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile='$private/known_hosts'"
    fi
    git clone --quiet --depth 1 "$BANDITORE_LOGS_GIT_URL" "$private/repo"
    shopt -s nullglob
    skipped=0
    for file in "$private"/repo/*.jsonl "$private"/repo/*.jsonl.gz; do
        # Regular files only: cp would copy a symbolic link's target, and a log
        # repository holding x.jsonl -> /proc/self/environ would hand this job's
        # environment (keys included) to sync.
        if [ -L "$file" ] || [ ! -f "$file" ]; then
            skipped=$((skipped + 1))
            continue
        fi
        cp -p "$file" "$dest/"
    done
    if [ "$skipped" -gt 0 ]; then
        echo "::warning title=Webhook logs::$skipped entries of the log repository are not regular files (symbolic links?): not copied."
    fi
    ;;
"")
    fail "BANDITORE_LOGS_SOURCE is not set: set the repository variable to ssh, s3 or git (docs/town-setup.md, 'Where the logs live')."
    ;;
*)
    fail "BANDITORE_LOGS_SOURCE=$kind is not one of ssh, s3, git."
    ;;
esac

shopt -s nullglob
files=("$dest"/*.jsonl "$dest"/*.jsonl.gz)
if [ "${#files[@]}" -eq 0 ]; then
    fail "No log file came from $kind: check the source settings (docs/town-setup.md, 'Where the logs live'). A new receiver writes its first file when the first webhook arrives: send it a message first."
fi
echo "Webhook logs: ${#files[@]} files from $kind ($(du -sh "$dest" | cut -f1))."
