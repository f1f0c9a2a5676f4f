"""config.yaml: defaults, one invalid file per case naming its key, env overrides, paths."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from states import default_policies
from workflow import config
from workflow.errors import ConfigInvalid, InvalidInput

CASES = Path(__file__).with_name("config_cases")

# One invalid file per case (tests/unit/config_cases/NAME.yaml): the start of the message after
# "FILE: ", which names the key path, and a fragment saying what is wrong or how to fix it.
INVALID = {
    "unknown_top_level": ("databse: unknown key", "known here: database, operator"),
    "unknown_database_key": ("database.uri: unknown key", "url, synchronous"),
    "unknown_operator_key": ("operator.mail: unknown key", "known here: email"),
    "unknown_support_key": ("support.emails: unknown key", "known here: email"),
    "unknown_mail_key": ("mail.from: unknown key", "sender"),
    "unknown_smtp_key": ("mail.smtp.hostname: unknown key", "host, port"),
    "unknown_reminders_key": ("reminders.windows: unknown key", "window"),
    "unknown_step": ("steps.teacher: unknown key", "teachers"),
    "unknown_step_key": ("steps.teachers.sla: unknown key", "sla_days"),
    "graph_cycle": ("steps.teachers.after: a cycle", "teachers → adoption → teachers"),
    "graph_unknown_step": ("steps.classes.after: unknown step 'teacher'", "teachers"),
    "graph_first_not_first": ("steps.coordinator.after: step 1 comes first",
                              "no prerequisites"),
    "graph_after_not_a_list": ("steps.adoption.after: expected a list of step slugs", "5"),
    "web_base_url_not_http": ("web.base_url: '127.0.0.1:8080' is not an http(s) address",
                              "https://"),
    "smtp_password": ("mail.smtp.password: a password is never read from the file",
                      "ROLLOUT_SMTP_PASSWORD"),
    "mail_password": ("mail.password: a password is never read from the file",
                      "ROLLOUT_SMTP_PASSWORD"),
    "port_text": ("mail.smtp.port: expected a port number 1-65535", "'twenty-five'"),
    "port_too_big": ("mail.smtp.port: expected a port number 1-65535", "70000"),
    "port_zero": ("mail.smtp.port: expected a port number 1-65535", "got 0"),
    "port_fraction": ("mail.smtp.port: expected a port number 1-65535", "25.5"),
    "port_bool": ("mail.smtp.port: expected a port number 1-65535", "True"),
    "window_one_time": ("reminders.window: give two times", '["09:00", "18:00"]'),
    "window_not_a_time": ("reminders.window[0]: '9am' is not a time", '"09:00"'),
    "window_bad_end": ("reminders.window[1]: '25:00' is not a time", '"09:00"'),
    "window_reversed": ("reminders.window: the start 18:00 must be before the end 09:00", ""),
    "repeat_zero": ("reminders.repeat_every_days: expected a whole number between 1 and 250",
                    "got 0"),
    "threshold_over_one": ("steps.teachers.threshold: expected a number between 0.0 and 1.0",
                           "1.5"),
    "threshold_negative": ("steps.students.threshold: expected a number between 0.0 and 1.0",
                           "-0.1"),
    "threshold_text": ("steps.classes.threshold: expected a number between 0.0 and 1.0",
                       "'95%'"),
    "region_share_over_one": ("steps.adoption.region_share: expected a number between 0.0 and "
                              "1.0", "got 2"),
    "escalate_before_sla": ("steps.parents.escalate_after_days: 5 is before sla_days 10",
                            "escalation comes after the reminder"),
    "escalate_before_default_sla": ("steps.teachers.escalate_after_days: 5 is before sla_days 10",
                                    ""),
    "sla_zero": ("steps.registry.sla_days: expected a whole number between 1 and 250", "got 0"),
    "sla_fraction": ("steps.registry.sla_days: expected a whole number between 1 and 250", "2.5"),
    "transport_unknown": ("mail.transport: 'sendmail' is not one of file, smtp", ""),
    "starttls_not_bool": ("mail.smtp.starttls: expected true or false", "'maybe'"),
    "timeout_zero": ("mail.smtp.timeout_s: expected a number between 0.1 and 3600.0", "got 0"),
    "connections_zero": ("mail.smtp.connections: expected a whole number between 1 and 64",
                         "got 0"),
    "connections_not_a_number": ("mail.smtp.connections: expected a whole number between 1 "
                                 "and 64", "'four'"),
    "operator_email_bad": ("operator.email: 'not-an-address' is not an e-mail address", ""),
    "support_email_bad": ("support.email: 'support at example.org' is not an e-mail address",
                          ""),
    "database_url_empty": ("database.url: expected a non-empty string", ""),
    "synchronous_unknown": ("database.synchronous: 'OFF' is not one of NORMAL, FULL", ""),
    "section_not_mapping": ("mail: expected a mapping of keys, got str", ""),
    "file_is_a_list": ("the file: expected a mapping of keys, got list", ""),
    "yaml_syntax_error": ("not valid YAML", ""),
    # issue 12: values that validated and then crashed (exit 1) or were silently ignored
    "threshold_nan": ("steps.teachers.threshold: expected a number between 0.0 and 1.0",
                      "got nan"),
    "region_share_nan": ("steps.parents.region_share: expected a number between 0.0 and 1.0",
                         "got nan"),
    "sla_too_big": ("steps.teachers.sla_days: expected a whole number between 1 and 250",
                    "1000000"),
    "escalate_too_big": ("steps.adoption.escalate_after_days: expected a whole number between "
                         "1 and 250", "100000"),
    "repeat_too_big": ("reminders.repeat_every_days: expected a whole number between 1 and 250",
                       "100000"),
    "timeout_inf": ("mail.smtp.timeout_s: expected a number between 0.1 and 3600.0", "got inf"),
    "sender_not_address": ("mail.sender: 'not an address' is not an e-mail address",
                           "<rollout@example.org>"),
    "sender_comment_address": ("mail.sender: 'Внедрение <a(b)@x.ru>' is not an e-mail address",
                               "'('"),
    "operator_email_comment": ("operator.email: 'a(b)@x.ru' is not an e-mail address", "'('"),
    "database_dialect_unknown": ("database.url: 'mysql' is not a supported database",
                                 "sqlite, postgresql"),
    "database_driver_missing": ("database.url: the driver of 'postgresql+pg8000' is not "
                                "installed", "postgresql+psycopg://"),
    "database_url_malformed": ("database.url: 'not a url' is not a database URL",
                               "sqlite:///rollout.db"),
    "database_folder_missing": ("database.url: the folder ", "no_such_folder of the database "
                                "file does not exist"),
    "deeply_nested": ("not valid YAML: nested too deeply", ""),
    "mail_dir_is_a_file": ("mail.dir: ", "mail_dir_is_a_file.yaml: is a file, not a folder"),
    "templates_missing": ("mail.templates: ", "no_such_templates_folder: no such folder"),
    "templates_not_a_folder": ("mail.templates: ", "templates_not_a_folder.yaml: is not a folder"),
    "smtp_host_with_space": ("mail.smtp.host: 'smtp example org' is not a host name", ""),
}


def test_every_case_file_has_an_expectation() -> None:
    """Each file in config_cases/ is checked, and each expectation has its file."""
    assert {p.stem for p in CASES.glob("*.yaml")} == set(INVALID)


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_config_names_the_file_and_the_key(case: str) -> None:
    """An invalid file is refused (exit 6) with a message naming the file and the key path."""
    path = CASES / f"{case}.yaml"
    start, fragment = INVALID[case]
    with pytest.raises(ConfigInvalid) as info:
        config.load(path, env={})
    message = str(info.value)
    assert isinstance(info.value, InvalidInput)  # the CLI maps InvalidInput to exit code 6
    assert message.startswith(f"{path}: {start}"), message
    assert fragment in message


def test_defaults_with_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no config.yaml every key has its documented default."""
    monkeypatch.chdir(tmp_path)
    cfg = config.load(env={})
    assert cfg.path is None
    assert cfg.base_dir == tmp_path
    assert cfg.database_url == f"sqlite:///{tmp_path / 'rollout.db'}"
    assert cfg.synchronous == "NORMAL"
    assert cfg.mail.sender == "Внедрение ФГИС «Моя школа» <rollout@example.org>"
    assert cfg.mail.transport == "file"
    assert cfg.mail.dir == tmp_path / "mail"
    assert cfg.mail.operator_email == "vv.savchenko@mgou.ru"
    assert cfg.mail.support_email == "support@example.org"
    assert cfg.mail.templates_dir is None
    smtp = cfg.mail.smtp
    assert (smtp.host, smtp.port, smtp.starttls, smtp.tls, smtp.timeout_s, smtp.connections) == (
        "localhost", 25, False, False, 30.0, 4)
    assert smtp.username is None and smtp.password is None
    assert (cfg.reminders.window_start, cfg.reminders.window_end) == (time(9), time(18))
    assert cfg.reminders.repeat_every_days == 3
    assert dict(cfg.steps) == default_policies()


def test_an_empty_file_means_the_defaults(tmp_path: Path) -> None:
    """An empty config.yaml is the defaults, read relative to its folder."""
    path = tmp_path / "config.yaml"
    path.write_text("", encoding="utf-8")
    cfg = config.load(path, env={})
    assert cfg.path == path
    assert dict(cfg.steps) == default_policies()
    assert cfg.database_url == f"sqlite:///{tmp_path / 'rollout.db'}"


def test_a_file_may_hold_only_some_keys(tmp_path: Path) -> None:
    """Keys given override their default; the rest keep theirs."""
    path = tmp_path / "config.yaml"
    path.write_text('mail: {transport: smtp, smtp: {host: mx.example.org, port: 587, '
                    'starttls: true}}\nreminders: {window: ["08:30", "17:00"]}\n'
                    "steps: {teachers: {sla_days: 7, escalate_after_days: 12, threshold: 0.95},"
                    " parents: {region_share: 0.8}}\n", encoding="utf-8")
    cfg = config.load(path, env={})
    assert cfg.mail.transport == "smtp"
    assert (cfg.mail.smtp.host, cfg.mail.smtp.port, cfg.mail.smtp.starttls) == (
        "mx.example.org", 587, True)
    assert (cfg.reminders.window_start, cfg.reminders.window_end) == (time(8, 30), time(17))
    teachers = cfg.steps["teachers"]
    assert (teachers.sla_days, teachers.escalate_after_days, teachers.threshold) == (7, 12, 0.95)
    assert cfg.steps["parents"].region_share == 0.8
    assert cfg.steps["classes"] == default_policies()["classes"]


def test_an_unquoted_window_is_read_as_times(tmp_path: Path) -> None:
    """`window: [9:00, 18:00]` unquoted (YAML 1.1 sexagesimal numbers) still means 09:00-18:00."""
    path = tmp_path / "config.yaml"
    path.write_text("reminders:\n  window: [9:00, 18:00]\n", encoding="utf-8")
    cfg = config.load(path, env={})
    assert (cfg.reminders.window_start, cfg.reminders.window_end) == (time(9), time(18))


def test_the_config_is_frozen(tmp_path: Path) -> None:
    """The parsed configuration cannot be changed after loading."""
    cfg = config.build({}, tmp_path)
    with pytest.raises(AttributeError):
        cfg.database_url = "x"  # type: ignore[misc]


def test_a_missing_explicit_file_is_refused(tmp_path: Path) -> None:
    """--config naming a file that does not exist is refused, naming it."""
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigInvalid, match=f"^{path}: no such configuration file$"):
        config.load(path, env={})


def test_rollout_config_names_the_file(tmp_path: Path) -> None:
    """$ROLLOUT_CONFIG is used when no path is given."""
    path = tmp_path / "elsewhere.yaml"
    path.write_text("mail: {transport: smtp}\n", encoding="utf-8")
    cfg = config.load(env={"ROLLOUT_CONFIG": str(path)})
    assert cfg.path == path and cfg.mail.transport == "smtp"
    with pytest.raises(ConfigInvalid, match="no such configuration file"):
        config.load(env={"ROLLOUT_CONFIG": str(tmp_path / "missing.yaml")})


def test_yaml_syntax_error_names_the_file(tmp_path: Path) -> None:
    """A YAML syntax error names the file and where in it the problem is."""
    path = CASES / "yaml_syntax_error.yaml"
    with pytest.raises(ConfigInvalid) as info:
        config.load(path, env={})
    assert str(info.value).startswith(f"{path}: not valid YAML")
    assert "line" in str(info.value)


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    """ROLLOUT_DATABASE_URL and ROLLOUT_SMTP_* win over the file."""
    path = tmp_path / "config.yaml"
    path.write_text("database: {url: 'sqlite:///file.db'}\nmail: {smtp: {host: a, port: 25}}\n",
                    encoding="utf-8")
    env = {"ROLLOUT_DATABASE_URL": "postgresql+psycopg://rollout@db.example.org/rollout",
           "ROLLOUT_SMTP_HOST": "smtp.example.org", "ROLLOUT_SMTP_PORT": "2525",
           "ROLLOUT_SMTP_USERNAME": "robot", "ROLLOUT_SMTP_PASSWORD": "s3cret"}
    cfg = config.load(path, env=env)
    assert cfg.database_url == "postgresql+psycopg://rollout@db.example.org/rollout"
    smtp = cfg.mail.smtp
    assert (smtp.host, smtp.port, smtp.username, smtp.password) == (
        "smtp.example.org", 2525, "robot", "s3cret")


def test_without_environment_the_file_holds(tmp_path: Path) -> None:
    """With no environment variables the file's values stay, and there are no credentials."""
    path = tmp_path / "config.yaml"
    path.write_text("mail: {smtp: {host: mx.example.org, port: 465, tls: true}}\n",
                    encoding="utf-8")
    smtp = config.load(path, env={}).mail.smtp
    assert (smtp.host, smtp.port, smtp.tls, smtp.username, smtp.password) == (
        "mx.example.org", 465, True, None, None)


@pytest.mark.parametrize("port", ["abc", "0", "65536", "-1"])
def test_a_bad_smtp_port_in_the_environment_names_the_variable(tmp_path: Path,
                                                               port: str) -> None:
    """ROLLOUT_SMTP_PORT must be a port number; the message names the variable."""
    with pytest.raises(ConfigInvalid, match=f"^ROLLOUT_SMTP_PORT: expected a port number "
                                            f"1-65535, got '{port}'$"):
        config.build({}, tmp_path, env={"ROLLOUT_SMTP_PORT": port})


def test_relative_sqlite_path_is_relative_to_the_config_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """sqlite:///data/r.db in conf/config.yaml is conf/data/r.db, wherever the program runs."""
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "config.yaml").write_text("database: {url: 'sqlite:///data/r.db'}\n"
                                      "mail: {dir: outbox, templates: tpl}\n", encoding="utf-8")
    (conf / "data").mkdir()
    (conf / "tpl").mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = config.load("../conf/config.yaml", env={})
    assert cfg.database_url == f"sqlite:///{conf / 'data' / 'r.db'}"
    assert cfg.mail.dir == conf / "outbox"
    assert cfg.mail.templates_dir == conf / "tpl"


@pytest.mark.parametrize("url", ["sqlite:////tmp/r.db", "sqlite://",
                                 "sqlite:///:memory:",
                                 "postgresql+psycopg://user@host/db"])
def test_other_database_urls_are_kept(tmp_path: Path, url: str) -> None:
    """Absolute SQLite paths, in-memory SQLite and PostgreSQL URLs are used as given."""
    assert config.build({"database": {"url": url}}, tmp_path).database_url == url


def test_emails_are_lowercased(tmp_path: Path) -> None:
    """The operator's and support's addresses are compared in lower case."""
    cfg = config.build({"operator": {"email": "VV.Savchenko@MGOU.ru"}}, tmp_path)
    assert cfg.mail.operator_email == "vv.savchenko@mgou.ru"


@pytest.mark.parametrize("url,problem", [
    ("mysql://rollout@db.example.org/rollout", "'mysql' is not a supported database"),
    ("not a url", "'not a url' is not a database URL"),
    ("postgresql+pg8000://u@h/db", "the driver of 'postgresql+pg8000' is not installed"),
    ("sqlite:////no/such/folder/r.db", "the folder /no/such/folder of the database file"),
])
def test_a_bad_database_url_in_the_environment_names_the_variable(
        tmp_path: Path, url: str, problem: str) -> None:
    """ROLLOUT_DATABASE_URL is checked like the file's key (exit 6, never a crash later)."""
    with pytest.raises(ConfigInvalid, match="^ROLLOUT_DATABASE_URL: ") as info:
        config.build({}, tmp_path, env={"ROLLOUT_DATABASE_URL": url})
    assert problem in str(info.value)


def test_a_bad_smtp_host_in_the_environment_names_the_variable(tmp_path: Path) -> None:
    """ROLLOUT_SMTP_HOST with a space in it is no host."""
    with pytest.raises(ConfigInvalid, match="^ROLLOUT_SMTP_HOST: 'smtp example' is not a host"):
        config.build({}, tmp_path, env={"ROLLOUT_SMTP_HOST": "smtp example"})


def test_internationalised_addresses_are_addresses(tmp_path: Path) -> None:
    """The one address rule: a Cyrillic domain or mailbox is accepted, kept in Unicode."""
    cfg = config.build({"operator": {"email": "Иван@Школа.РФ"},
                        "support": {"email": "support@xn--80atdl2c.xn--p1ai"},
                        "mail": {"sender": "Внедрение <робот@школа.рф>"}}, tmp_path)
    assert cfg.mail.operator_email == "иван@школа.рф"
    assert cfg.mail.support_email == "support@школа.рф"


def test_mail_dir_may_be_a_folder_still_to_create(tmp_path: Path) -> None:
    """mail.dir need not exist yet when it can be created (the sender creates it)."""
    cfg = config.build({"mail": {"dir": "out/mail"}}, tmp_path)
    assert cfg.mail.dir == tmp_path / "out" / "mail"
    (tmp_path / "blocker").write_text("x", encoding="utf-8")
    with pytest.raises(ConfigInvalid, match="^mail.dir: .*blocker/mail: cannot be created"):
        config.build({"mail": {"dir": "blocker/mail"}}, tmp_path)
