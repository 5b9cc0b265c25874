"""The model's card in the page header: what it is, how good, when and how it was trained."""
from __future__ import annotations

from explainers import ServedModel
from explainers.architecture import architecture_of
from explainers.datasets import dataset_info


def model_card(served: ServedModel) -> str:
    card = served.card
    title = dataset_info(served.dataset).title
    arch = architecture_of(served.model)
    lines = [f"**{title} model** · `{arch.describe()}` · {served.model.count_params():,} parameters"]
    if "test_accuracy" in card:
        recipe = f"{card['epochs']} epochs, batch {card['batch_size']}, Adam lr {card['learning_rate']:g}" \
                 f"{' (cosine decay)' if card.get('lr_schedule') == 'cosine' else ''}" \
                 f"{', augmented' if card.get('augment') else ''}, seed {card['seed']}"
        lines.append(f"test accuracy **{card['test_accuracy']:.2%}** on 10,000 unseen images · trained "
                     f"{card.get('trained_at', '?')[:16].replace('T', ' ')} UTC on {card['train_images']:,} images "
                     f"({recipe}, {card['training_seconds']:.0f} s)")
    else:
        lines.append("no training record was saved with this model (e.g. a legacy .h5 file)")
    return "  \n".join(lines)
