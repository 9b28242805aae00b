"""Every number a benchmark's command line takes is checked where it is parsed, with one line that
names the flag (issue 21, point 4): NaN passes every "<= 0" test, and an infinite time budget
never ends, so both are refused as explicitly as 0 and -1."""
import pytest
from conftest import load_script

# (script, its argument parser (a function of argv), arguments, text the one line must contain)
CASES = [
    ("benchmarks/speed.py", "parse_args", ["--block", "nan"], "--block a finite number > 0"),
    ("benchmarks/speed.py", "parse_args", ["--block", "inf"], "--block a finite number > 0"),
    ("benchmarks/speed.py", "parse_args", ["--repeats", "0"], "--repeats and --threads must be"),
    ("benchmarks/fast_paths.py", "parse_args", ["--block", "nan"], "--block a finite number"),
    ("benchmarks/fast_paths.py", "parse_args", ["--threads", "0"], "--threads must be at least"),
    ("benchmarks/lab_speed.py", "parse_args", ["--seconds", "nan"], "--seconds a finite number"),
    ("benchmarks/lab_speed.py", "parse_args", ["--seconds", "inf"], "--seconds a finite number"),
    ("benchmarks/lab_speed.py", "parse_args", ["--k", "0"], "--k must be an integer >= 1"),
    ("benchmarks/image_quality.py", "main", ["g.npz", "--n", "0"],
     "argument --n: expected an integer >= 1, got '0'"),
    ("benchmarks/image_quality.py", "main", ["g.npz", "--seed", "-1"],
     "argument --seed: expected an integer >= 0, got '-1'"),
]


@pytest.mark.parametrize("script, function, argv, message", CASES,
                         ids=[f"{s.split('/')[-1]} {' '.join(a)}" for s, _, a, _ in CASES])
def test_a_bad_number_is_one_line_naming_the_flag(capsys, script, function, argv, message):
    parse = getattr(load_script(script), function)
    with pytest.raises(SystemExit) as exit_info:
        parse(argv)
    assert exit_info.value.code == 2                      # argparse's refusal, before any work
    assert message in capsys.readouterr().err
