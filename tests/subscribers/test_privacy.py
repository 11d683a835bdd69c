from runner.subscribers.privacy import citizen_id, mask_number


def test_mask_keeps_country_prefix_and_last_two_digits():
    assert mask_number("393471234567") == "+39 347 *****67"
    assert mask_number("+39 347 123 4567") == "+39 347 *****67"
    assert "1234" not in mask_number("393471234567")
    assert mask_number(None) == "(unknown)"


def test_citizen_id_is_stable_keyed_and_format_independent():
    assert citizen_id("393471234567") == citizen_id("+39 347 1234567")
    assert citizen_id("393471234567") != citizen_id("393471234568")
    assert citizen_id("393471234567", b"town-key") != citizen_id("393471234567")
    assert citizen_id("IT.1349abc").startswith("c_")
