// Measures one thread's FP32 FMA peak (GFLOP/s): the yardstick for "% of peak" figures.
#pragma once

double MeasureFmaPeakGflops(double seconds = 1.0);
