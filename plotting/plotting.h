// dm::plotting in one include: the figures of the paper (BABILong score / compare / ratio heatmaps,
// tuned-lens layer chart), live training curves, and their export to PNG, PDF, SVG and CSV.
#pragma once

#include "plotting/colors.h"
#include "plotting/csv.h"
#include "plotting/curve_graph.h"
#include "plotting/curve_plot.h"
#include "plotting/data.h"
#include "plotting/errors.h"
#include "plotting/export.h"
#include "plotting/figure.h"
#include "plotting/heatmap.h"
#include "plotting/lens_chart.h"
#include "plotting/smoothing.h"
#include "plotting/style.h"
