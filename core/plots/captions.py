"""Each figure's title and one-paragraph caption: what is drawn and how to read it.

The same text is served by ``GET /v1/experiments/{id}/plots`` and written into
every SVG as its ``<title>`` and ``<desc>``. Plain strings: no matplotlib here.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.views import ComparePlotName, PlotName, SweepPlotName


@dataclass(frozen=True)
class Caption:
    title: str
    caption: str


#: The experiment figures, by ``core.views.PlotName``.
EXPERIMENT: dict[PlotName, Caption] = {
    "gradient-profile": Caption(
        "Gradient profile",
        "log10 of the weight-gradient norm ||dL/dW|| (top) and of the back-propagated norm "
        "||dL/dz|| (bottom) against layer, the input on the left and the output layer right "
        "of the dotted line, at the first, middle and last record. A level line is a healthy "
        "network; a line falling toward the input is a vanishing gradient, one rising toward "
        "the input an exploding one. The dashed black line is the mean-field theory's "
        "prediction at step 0, anchored at the last hidden layer. The y axis spans at least "
        "3 decades either side of the median, so a level profile looks level and two runs "
        "compare; ?scale=auto zooms to this run.",
    ),
    "gradient-heatmap": Caption(
        "Weight gradients over training, relative to the last hidden layer",
        "Each cell is one layer (input at the bottom) at one recorded step; its colour is "
        "log10 ||dL/dW|| of that layer minus that of the last hidden layer at the same step, "
        "in decades. White is level with the top of the network, blue is smaller (vanishing "
        "toward the input), red is larger (exploding). The colour range is the same for every "
        "run (+/-10 decades, beyond it the end colours), so two heatmaps compare side by side; "
        "?scale=auto stretches it to this run. Magenta cells are NaN, infinite or zero "
        "gradients; a red dashed line marks a divergence.",
    ),
    "training-curves": Caption(
        "Training curves",
        "Cross-entropy loss (left) and accuracy (right) per epoch, on the training set and on "
        "the held-out validation set; the dotted line is the accuracy of guessing one class. "
        "A deep network whose gradients vanish stays near chance; a gap between training and "
        "validation is over-fitting. Accuracy is drawn from 0 to 1 and loss from 0; "
        "?scale=auto zooms.",
    ),
    "activations": Caption(
        "Inside the hidden layers",
        "Top: the RMS of the activation's derivative phi'(u) over the batch and units of each "
        "hidden layer, over training: the factor each layer multiplies the back-propagated "
        "gradient by (a sigmoid's never exceeds 0.25, so twenty of them shrink it 10^12-fold). "
        "Middle: the share of each layer's units in the activation's flat tails (saturated); "
        "bottom: the share that output 0 for every example of the batch (dead ReLUs). Lines "
        "are coloured by layer, input to output; a share that stays small is drawn on a log "
        "scale, and a panel says 'none' when no unit was ever saturated or dead.",
    ),
    "update-ratio": Caption(
        "Update size relative to the weights",
        "||dW|| / ||W||, the size of each step's update relative to the layer's weights, per "
        "layer (coloured input to output) over training, on a log scale, smoothed with a "
        "moving median so the trend reads through the noise. The grey band around the dashed "
        "1e-3 line is the usual healthy range (1e-3 within a factor of 3): far below it a "
        "layer barely learns (the early layers of a vanishing network), far above it training "
        "is unstable.",
    ),
    "gradient-histograms": Caption(
        "Weight-gradient distributions per layer",
        "For each layer (input at the bottom) a ridge: the histogram of log10 |dL/dW| over the "
        "layer's weights at each recorded histogram step, from early (light) to late (dark). "
        "Ridges lying left of the others are layers whose gradients are decades smaller; a "
        "ridge drifting over training shows the gradients growing or shrinking. The x axis is "
        "the recorder's fixed bins (values outside fall in the end bins); ?scale=auto crops "
        "it to the occupied bins.",
    ),
}

#: The sweep figures, by ``core.views.SweepPlotName``.
SWEEP: dict[SweepPlotName, Caption] = {
    "gradient-profiles": Caption(
        "Gradient profiles of a sweep",
        "Every finished child's step-0 profiles, log10 ||dL/dW|| (top) and ||dL/dz|| (bottom) "
        "against layer, one colour per group (the values that vary between children, depth "
        "aside). Lines falling toward the input on the left vanish; flat ones are healthy.",
    ),
    "ratio-vs-depth": Caption(
        "Gradient ratio against depth",
        "log10 of layer 0's norm over the last hidden layer's at step 0, against depth, one "
        "colour per group: solid the back-propagated norm, dashed the weight gradient, dotted "
        "the mean-field prediction. A straight line is exponential decay (or growth) with "
        "depth; 0 is level.",
    ),
    "phase-diagram": Caption(
        "Phase diagram",
        "For a grid over two fields (say init_gain x depth, or activation x depth), each cell "
        "is the measured log10 back-propagated ratio at step 0 (layer 0 over the last hidden "
        "layer; the mean where several children share a cell): blue vanishing, red exploding, "
        "white level, on a fixed +/-10 decade range (?scale=auto zooms). The black line is "
        "where the mean-field theory's chi_1 crosses 1, the edge of chaos between the ordered "
        "phase (chi_1 < 1, gradients vanish) and the chaotic one (chi_1 > 1, they explode); "
        "outlined cells sit on it. Where the theory does not apply (batch norm, residual "
        "connections) no line is drawn.",
    ),
}

#: ``GET /v1/compare/plots/{name}``.
COMPARE: dict[ComparePlotName, Caption] = {
    "gradient-profile": Caption(
        "Gradient profiles compared",
        "Several experiments' step-0 profiles overlaid, log10 ||dL/dW|| (top) and ||dL/dz|| "
        "(bottom) against layer, one labelled line each, input on the left.",
    ),
}

DERIVATIVES = Caption(
    "Activation functions and their derivatives",
    "Each activation phi(x) (top) and its derivative phi'(x) (bottom). Back-propagation "
    "multiplies the gradient by phi' at every layer: a sigmoid's is at most 0.25, so deep "
    "sigmoid networks vanish; ReLU's is exactly 1 wherever the unit is active.",
)
