from fixtures import secrets


def test_every_run_gets_fresh_strong_secrets():
    first, second = secrets.generate({}), secrets.generate({})
    assert set(first) == set(secrets.SECRET_VARIABLES)
    assert all(len(value) >= 32 for value in first.values())
    assert all(first[name] != second[name] for name in first)


def test_a_secret_the_caller_set_is_kept():
    assert secrets.generate({"REDIS_PASSWORD": "given-by-operator"})["REDIS_PASSWORD"] == "given-by-operator"


def test_redact_replaces_longest_first():
    assert secrets.redact("a=abcdefgh b=abcd", ["abcd", "abcdefgh"]) == "a=*** b=***"
