"""The seed notebook's classroom material, placed beside the pictures it talks about."""

# The Activation Maximization tab after a dataset switch: its pictures were the other model's.
NEW_DATASET_SYNTHESIS = "<p>Press <b>Synthesize</b> to see what this dataset's filters want to see.</p>"
# What a student draws or uploads, in the words of each dataset.
DRAW_WHAT = {"mnist": "a digit", "fashion_mnist": "a piece of clothing (a shirt, a shoe, a bag…)"}

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

EXPERIMENTS = """\
The seed's extensions, done in the page. The experiments use the image of the **Grad-CAM** tab (your
drawing, a test image or an upload); the last two compare whole networks.
"""

ADVERSARIAL = """\
### How it works
Every pixel may change by at most **ε** (and stays between black and white). **FGSM** takes one step of
exactly ε in the direction that most lowers the network's margin for its answer; **PGD** takes many small
steps, each pulled back into the ε box, and follows the decision boundary where one step overshoots.
A **targeted** attack aims at a class of your choice: "make the network call this 7 a 3".

### Look and discuss
- At ε = 0.1 the change is hard to see, yet the answer flips. Why can 784 tiny changes add up?
- Where the image is black a pixel can only get brighter: the perturbation is red there.
- Compare the heatmaps **before and after**: did the evidence for the old class vanish, or did evidence for
  the new one appear? Is Grad-CAM or HiResCAM the better witness?
"""

ROBUSTNESS = """\
### Reading the curve
Accuracy of each shipped model when every test image is attacked (untargeted PGD, 40 steps) within ε.
The table: how often a **targeted** attack reaches the class after the label ((label + 1) mod 10) on
100 test images. Computed the first time somebody asks (20 s to a minute, as busy as the server
is), then remembered.

### Discuss
- Fashion-MNIST's model breaks at a smaller ε than MNIST's. Why might the digits' black background
  and thick strokes help?
- Would you trust a network that a change of 0.1 fools, on a bank cheque?
"""

INVERSION = """\
### How it works
Start from noise and change the picture until the chosen layer's activations match your image's
(Mahendran & Vedaldi 2015), with a smoothness prior. Whatever comes back, the layer kept; whatever is
missing or blurred, it threw away.

### Discuss
- conv1 keeps almost everything: 8 maps of 28x28 are 6,272 numbers for 784 pixels.
- Each **max-pool** forgets *where* inside its 2x2 window a feature fired: compare conv1 with pool1.
- The ten **logits** keep only what separates the classes: you get *a* 7, not *your* 7.
"""

STYLE_TRANSFER = """\
### How it works (Gatys et al. 2016)
The **content** is conv2's feature maps of your image (what is where); the **style** is the Gram matrices of
conv1 and conv2 of the style image (which filters fire, and which fire together, wherever it is).
Starting from your image, the pixels change until the content stays and the style statistics match.

### What an 8-filter network can carry as style
- conv1 has **8 filters of 3x3 pixels**: the only texture it can see is at most 3 pixels across, a stroke's
  edges, their orientation and their contrast. conv2 sees 8x8-pixel patches, through 8 more filters.
- A layer's style is an 8x8 Gram matrix: **36 different numbers** (it is symmetric), 8 of them how strongly
  each filter fires on average (how much ink, how many edges of each kind), 28 which pairs fire together.
  Two layers: 72 numbers for the whole "style".
- So it carries **stroke thickness, edge sharpness, how much of the image is filled**; it cannot carry a
  fabric's weave, stripes, a logo or a buckle: there is no filter for them, and no number says *where*.
"""

SEEDS = """\
### How it works
Filter 3 of one training has no reason to be filter 3 of another, so the filters are paired one to one
by the assignment of largest total similarity (the Hungarian method). conv1 is compared by its 3x3
kernels (the cosine: a kernel and its negation are opposites, -1); conv2 by how its feature maps
correlate on 500 test images (250 of each dataset). A **close twin**: similarity ≥ 0.8.

### The seed's question: *why do conv1 filters look similar across datasets?*
Partly because small edge detectors suit digits and clothes alike, and partly for a plainer reason: both
shipped models **started from the same random weights** (seed 0), and training moves conv1's kernels
only part of the way. Compare the pair "MNIST vs Fashion-MNIST" with "MNIST seed 1 vs Fashion-MNIST"
(different starts), and read how much of its start each model kept.
"""

DEEPER = """\
### The seed's question 4: *how would adding more layers change the visualization?*
The three-block model adds conv3 (8 filters on conv2's 7x7 maps) and pool3. Look for:
- **Grad-CAM** at the last conv layer is coarser: conv3's maps are 7x7, not 14x14.
- Its **synthesized images** for conv3 are more complex, and less like strokes, than conv1's.
- Did the extra block buy **accuracy**? Compare the two cards' test accuracies.
"""

# -- the class wall (the instructor's page, ui/pages/instructor.py) ------------------------------------------
CLASS_WALL_TOP = """\
# 🏫 The class wall
Open a class, project this page, and give the students the link (or just the code): each student draws a
digit, says which digit they meant, and sends it. Every drawing lands here, grouped by the digit meant and
framed **green** when the model read it right, **red** when it did not. Click one to see what the network saw.
"""

CLASS_WALL = """\
### Discuss with the class
- **The class's accuracy against MNIST's.** The model learned from digits written on paper forms by Census
  Bureau employees and high-school students, then scanned; yours were drawn with a mouse or a finger. Which
  digits does it miss? The confusion matrix says which ones it mixes up.
- Tick *only the ones it got wrong* and click one: **what happens to Grad-CAM when the model is wrong?** Does
  the heatmap sit on the stroke that makes the digit what it is? Try HiResCAM, and the ten classes: where is
  the evidence for the digit that was meant?
- Is it the drawing or the model? Would *you* have read each red one right?

Drawings are anonymous (no names, no addresses); a student can withdraw their own; **Hide** takes a drawing
off the wall and out of the class's data. A class is erased when it ends, or after its retention period.
"""

CLASS_SHOW = """\
Pick an image and press **Show everyone**: every student's page switches to it within a second or two, with the
target class and the method you chose, and their own network draws its views (the server sends the image's 784
numbers, not pictures). A student can step back to their own drawing, and rejoin with one click; the next image
you show brings everyone back. *Stop showing* gives everyone their own drawing again.

**Try:** show a red drawing from the wall with Grad-CAM, then the same one with HiResCAM. Ask: *which heatmap
would you believe, and why?* Then show the image Activation Maximization synthesizes for that digit: is that what
the model looks for?
"""

CLASS_DATA = """\
Every drawing on the wall (hidden ones left out), labelled with the digit its student **meant**, in MNIST's own
format: `class-images-idx3-ubyte.gz` and `class-labels-idx1-ubyte.gz` open with any MNIST reader, and in this
app's notebook (`cnn.idx.read_idx`). The table under the wall reads them with the model served now, digit by
digit, beside its accuracy on MNIST's test digits of the same digit.

### Discuss: domain shift
The model never saw a digit drawn with a mouse or a finger: MNIST's were written with pens on paper forms, then
scanned, centred and scaled. When the class's accuracy on a digit falls far below MNIST's, the *data* has moved,
not the digit. Which of your digits look least like MNIST's? What would you add to the training set?
"""

CLASS_LEARNING = """\
Teach the model your class's handwriting: it starts from the served model's weights and trains on the class's
digits ({recipe}), in the background at the lowest priority, so that no student waits. The result is kept, not
served: compare, then choose whether everyone gets it (*Reload the saved model* undoes it).

### What the comparison teaches
- **Held-out data.** The drawings held out (the same share of every digit) are never trained on. A model can
  learn its training digits by heart; only digits it never saw say whether it learned *handwriting*.
- **Forgetting.** The model is also measured on MNIST's 10,000 test digits. Learning the class's style can cost
  it some of what it knew (*catastrophic forgetting*, mild here): mixing MNIST's own digits into the training,
  when the server has them, keeps more of it. Is a model better if it reads your class and forgets the paper?
- **The drawings that changed.** Which ones does it now read right? Any that it now gets wrong?
- **A fair test.** Once you serve it, the wall's table reads every drawing with it, the ones it learned from
  too: those it may know by heart. Which number would you report, the table's or the held-out one?
"""
