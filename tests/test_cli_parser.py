"""The command line is parsed by the named command's own parser, the same way the whole parser would."""

from __future__ import annotations

import pytest

from cli.main import COMMANDS, MODULE_OF, build_parser, command_named, main

LINES = [
    ["verify", "./model", "--policy", "p.yaml", "--json"],
    ["--home", "verify", "hash", "x"],  # an option's value that looks like a command
    ["--home=h", "--network", "sepolia", "revoke", "0x" + "11" * 32, "--reason", "bad"],
    ["-v", "--insecure-rpc", "history", "0x" + "22" * 32],
    ["--rpc-url", "http://127.0.0.1:1", "register", "d", "--claims", "c.yaml", "--batch"],
    ["--ver", "hash", "d", "--json"],  # an abbreviated option
    ["keys", "list"],
    ["journal", "list"],
]


@pytest.mark.parametrize("argv", LINES, ids=[" ".join(a[:2]) for a in LINES])
def test_the_commands_own_parser_reads_what_the_whole_parser_reads(argv):
    module = command_named(argv)
    assert module in COMMANDS
    assert vars(build_parser(module).parse_args(argv)) == vars(build_parser().parse_args(argv))


def test_every_sub_command_is_found_in_its_module():
    whole = build_parser()
    names = next(a for a in whole._actions if a.dest == "command").choices  # every sub-command's parser
    assert set(MODULE_OF) < set(names)
    for name in names:
        module = command_named([name])
        assert module == MODULE_OF.get(name, name)
        assert name in next(a for a in build_parser(module)._actions if a.dest == "command").choices


@pytest.mark.parametrize(
    "argv", [[], ["--help"], ["-h", "verify"], ["--he", "verify"], ["verfy", "x"], ["--home"], ["--h", "verify"]]
)
def test_help_and_wrong_lines_go_to_the_whole_parser(argv, capsys):
    assert command_named(argv) is None
    assert capsys.readouterr() == ("", "")  # the look-ahead says nothing: the whole parser tells what is wrong


def test_help_before_a_command_lists_every_command(capsys):
    with pytest.raises(SystemExit) as done:
        main(["-h", "verify"])
    assert done.value.code == 0
    shown = capsys.readouterr().out
    assert all(name in shown for name in ("chain", "revoke", "dispute", "journal", "serve"))


def test_a_wrong_line_is_told_once_by_the_whole_parser(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--h", "verify"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "ambiguous option: --h could match --help, --home" in err
