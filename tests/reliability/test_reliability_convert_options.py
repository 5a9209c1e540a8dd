"""``pose-search data convert`` with options that do not apply to the source, bad option values
and roots of the wrong layout: every one a clear error (exit 2, one line naming the option or
file), no traceback, nothing started."""

from __future__ import annotations

from tests.data.loader_files import write_3dpw, write_scene
from tests.reliability.cli_run import tripwires
from tests.reliability.convert_option_cases import misuse_cases, value_cases, wrong_root_cases
from tests.reliability.harness import assert_all_clear, run_cases


def test_options_that_do_not_apply_are_clear_errors(tmp_path):
    cases = misuse_cases(tmp_path / "work")
    with tripwires():
        report = run_cases("convert options that do not apply", cases)
    assert_all_clear(report, minimum=150)
    assert not (tmp_path / "work" / "never").exists()


def test_bad_option_values_and_wrong_roots_are_clear_errors(tmp_path):
    sequence = write_3dpw(tmp_path / "3dpw", [0.0, 0.5])
    raw, _, _ = write_scene(tmp_path / "bedlam")
    cases = value_cases(tmp_path / "work") + wrong_root_cases(tmp_path / "work", sequence, raw.parent)
    with tripwires():
        report = run_cases("convert option values and roots", cases)
    assert_all_clear(report, minimum=30)
