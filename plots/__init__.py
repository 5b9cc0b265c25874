"""Pictures of what the CNN learns: matplotlib Figures, and fast numpy images and HTML grids for what a
class asks for many times a minute.

    from plots import cam_figure, figure_to_image
    picture = figure_to_image(cam_figure(image, GradCAM(model).explain(image), class_names))

Figures are built with matplotlib's object-oriented API only, never pyplot, so that
many threads can draw at once (see plots/render.py).
"""
from plots.cam import cam_figure, cam_methods_figure, class_grid_figure, variants_figure
from plots.comparison import curves_figure, methods_html, sanity_html
from plots.filters import conv_weights_figure, kernel_grid_figure
from plots.html_grids import feature_maps_html, live_views_html, maximization_html
from plots.overlay import grayscale_rgb, heatmap_overlay, signed_map_rgb
from plots.render import figure_to_image, png_data_url
from plots.score_tables import faithfulness_table_html, sanity_table_html
from plots.training import confusion_matrix_figure, training_curves_figure

__all__ = [
    "cam_figure", "cam_methods_figure", "class_grid_figure", "confusion_matrix_figure", "conv_weights_figure",
    "curves_figure", "faithfulness_table_html", "feature_maps_html", "figure_to_image",
    "grayscale_rgb", "heatmap_overlay", "kernel_grid_figure", "live_views_html", "maximization_html", "methods_html",
    "png_data_url", "sanity_html", "sanity_table_html", "signed_map_rgb", "training_curves_figure", "variants_figure",
]
