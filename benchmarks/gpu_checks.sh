#!/usr/bin/env bash
# Everything that needs a GPU, in one command (CI has none, so this is run by hand on a machine
# with CuPy and a CUDA device):
#
#     OUT=/tmp/gpu bash benchmarks/gpu_checks.sh
#
# 1. the GPU half of the test suite (every test that takes `device`, on CuPy), the tracer, a short
#    2-D run and a short DCGAN run, side by side (they are not timed against anything);
# 2. then, alone on the GPU, benchmarks/speed.py --device gpu (minigan on CuPy vs PyTorch CUDA,
#    with the kernels each launches per step), a cProfile of minigan's DCGAN step, and
#    benchmarks/fast_paths.py --device gpu --quick (each fast path against its plain rule);
# 3. then one full 60 000-image AC-GAN epoch on synthetic data, timed.
# About 5 minutes on an H200 machine (pytest-xdist and pytest-timeout must be installed).
# Logs and the speed table land in $OUT (default runs/gpu_checks). Each part has its own time
# limit, so one that hangs cannot starve the others.
set -u
OUT=${OUT:-runs/gpu_checks}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH}
PY=${PYTHON:-python3}
JOBS=${JOBS:-8}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
$PY -c "import cupy, numpy, sys; print('python', sys.version.split()[0], 'numpy', numpy.__version__,
'cupy', cupy.__version__, 'cuda runtime', cupy.cuda.runtime.runtimeGetVersion())"

echo "== 1. GPU tests, tracer, examples (in parallel)"
t0=$(date +%s)
timeout 200 $PY -m pytest -q -m gpu -n "$JOBS" -p no:cacheprovider -p no:benchmark --timeout 120 \
    -rf --tb=short >"$OUT/tests.log" 2>&1 &
tests=$!
(
    timeout 60 $PY -m minigan.trace --device gpu --max-lines 12
    echo "== gan_2d sine, 100 epochs, on the GPU"
    timeout 90 $PY examples/gan_2d.py --device gpu --epochs 100 --out runs/gpu_gan_2d --overwrite
    echo "== dcgan digits, 5 epochs, on the GPU"
    timeout 90 $PY examples/dcgan_mnist.py --digits --epochs 5 --device gpu --out runs/gpu_dcgan --overwrite
) >"$OUT/examples.log" 2>&1
wait $tests; echo "tests exit $?"
tail -n 25 "$OUT/tests.log"
echo "part 1 took $(( $(date +%s) - t0 )) s"

echo "== 2. speed.py --device gpu"
t0=$(date +%s)
timeout 200 $PY benchmarks/speed.py --device gpu --out "$OUT" 2>&1 | tee "$OUT/speed.log" | tail -n 30
timeout 60 $PY benchmarks/speed.py --device gpu --profile --engines minigan --workloads W3 \
    --profile-steps 20 >"$OUT/profile.log" 2>&1
timeout 120 $PY benchmarks/fast_paths.py --device gpu --quick --out "$OUT" 2>&1 | tail -n 20
echo "part 2 took $(( $(date +%s) - t0 )) s"

echo "== 3. one 60 000-image AC-GAN epoch (synthetic data) on the GPU"
t0=$(date +%s)
timeout 90 $PY examples/acgan_fashion_mnist.py --synthetic 60000 --epochs 1 --device gpu \
    --out runs/gpu_acgan --overwrite 2>&1 | tail -n 8
echo "part 3 took $(( $(date +%s) - t0 )) s"
cp runs/gpu_gan_2d/samples.png "$OUT/gan_2d_samples.png" 2>/dev/null
tail -n 40 "$OUT/examples.log"
