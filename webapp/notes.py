"""The seed notebook's classroom material, placed beside the pictures it talks about."""

INTRO = """\
# 🔍 What does a CNN see?
A deliberately tiny convolutional network (**16 filters in all**) explained three ways:
the **filters** it learned, the images that **maximally activate** them, and **Grad-CAM**
heatmaps of the pixels behind each prediction; then **twelve explanations compared**, and
tested. Draw your own digit in the Grad-CAM tab!
"""

MODEL = """\
### The network
`28x28 image → conv1 (8 filters 3x3, ReLU) → max-pool → conv2 (8 filters 3x3, ReLU) → max-pool → dense 10`

Intentionally simple: only 16 filters, so each one can be studied; it trains in a minute or two
on a CPU and still gets about 99 % of MNIST's test digits right.

**Try:** train with a different random **seed** and compare the filters in the Filters tab.
What stays the same? (Discussion: *why do conv1 filters look similar across datasets?*)
"""

TRAINING_OFF = """\
🔒 Training is turned off on this server, because a new model replaces the one every student sees.
The instructor can enable it by starting the app with `--allow-training`.
"""

FILTERS = """\
### What to look for
- **conv1** filters look straight at pixels: read their 3x3 weights as tiny **edge, corner and
  stroke detectors** (red = positive weight, blue = negative). A red row above a blue row
  responds to a bright-over-dark edge.
- **conv2** filters combine conv1's eight maps: one 3x3 kernel per map, so their patterns are
  more complex **shape combinations**.
- Different filters light up on **different regions** of the image (feature maps below).

### Discuss
1. Why do conv1 filters look similar across different datasets? (Switch to Fashion-MNIST.)
2. Can you identify **dead filters**, which never fire on any test image? (Table below.)
3. How would adding more layers change these pictures?
"""

MAXIMIZATION = """\
### How it works
1. Start from random noise.
2. Follow the gradient **uphill**, changing the *image*, not the network.
3. Maximize the mean activation of one filter.
4. The result: what that filter *wants to see*.

Without the **regularizers** the image fills with high-frequency noise that fools the filter:
L2 decay dims unused pixels, jitter makes the pattern work anywhere, blur and total variation
make neighbouring pixels agree. Turn them off and compare!

### What to look for
- conv1 patterns are usually simple **oriented stripes** (edges repeated over the whole image).
  A plain **white square** is a real answer too: a filter whose weights are all positive
  (see the Filters tab) simply likes brightness everywhere.
- conv2 patterns are more abstract. Choose the **logits** layer to ask for the image of a whole
  class ("the most 3-like image"): does it look like a 3?
- Some filters don't converge to a clear pattern; that's normal.
"""

GRAD_CAM = """\
### How it works
Grad-CAM takes the gradient of a class score (before softmax) with respect to conv2's eight
feature maps, averages it into one weight per map, and adds up the weighted maps: **red** is
where the evidence for the class lies. Pick a **target class** to ask "why not a 3?".

### Try and discuss
- **Draw** a digit, then change it a little: when does the prediction flip?
- Browse **misclassified** test images: *what is the model looking at when it is wrong?*
- Compare the heatmaps of **all ten classes**: how do they differ for different targets?
- The **counterfactual** map shows what argues *against* a class; **guided backprop** gives
  pixel-sharp detail, and **Guided Grad-CAM** combines both.
- Some classes never get a Grad-CAM heatmap here (an MNIST "0"): its weight per map is an
  *average* gradient, and in this small network that average is the same for every image.
  **HiResCAM** multiplies gradients and activations pixel by pixel instead. Why does that help?
"""

COMPARE = """\
### Which explanation can you trust?
A heatmap is a *claim*: "these pixels are the evidence". Two tests of the claim:
- **Faithfulness** (deletion and insertion, Petsiuk et al. 2018): remove the pixels in the order the
  map ranks them. If the map is right, the class's probability falls at once (a small deletion AUC);
  revealed in that order, it rises at once (a large insertion AUC). A **random map** is the yardstick.
- **Sanity** (Adebayo et al. 2018): replace the network's learned weights by random ones, from the top
  layer down, or use a network trained on shuffled labels. A map that explains the *network* must
  change; one that still looks the same explains the *image* (its ink), not the decision.

### What each method asks
- **Saliency**: how would the score change if each pixel were a little brighter? **Gradient × Input**,
  **Integrated Gradients**: how much of the score does each pixel's ink account for? **SmoothGrad**:
  the same as Saliency, averaged over noisy copies so that it stops flickering.
- **Occlusion**, **RISE**: what happens to the score when parts of the image are hidden? (No gradients.)
- **Guided Backprop**: a sharp picture of the gradients that make it back through every ReLU.
- **Grad-CAM**, **Grad-CAM++**, **HiResCAM**, **LayerCAM**, **Score-CAM**: which of conv2's feature maps,
  where, carry the evidence?

### Discuss
1. *Which maps survive randomizing the weights? What does that say about them?* (Look at the
   methods that multiply by the input: where the image is black, their map is zero whatever the network.)
2. *Why does HiResCAM add up to the score, and what does Grad-CAM lose by averaging?* (In this network
   Grad-CAM's weights are the same for every image: compare their deletion curves.)
3. Does the best-looking map also score best? Try blurred removal: does the ranking change?
"""

CLASSROOM = """\
**Classroom tips:** start with MNIST (digits are intuitive), compare conv1 with conv2, pick
examples where Grad-CAM surprises, then switch to Fashion-MNIST to see how the filters adapt.
Students: change the test image, the filter, the target class, and draw your own digits.
"""
