"""The model's card in the page header: what it is, how good, when and how it was trained."""
from __future__ import annotations

from explainers import ModelManager, ServedModel
from explainers.architecture import architecture_of
from explainers.datasets import dataset_info
from explainers.model_store import ModelFileError


def model_card(served: ServedModel) -> str:
    card = served.card
    title = dataset_info(served.dataset).title
    arch = architecture_of(served.model)
    lines = [f"**{title} model**, {served.model.count_params():,} parameters: {arch.describe()}"]
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


def header_card(manager: ModelManager, dataset: str) -> str:
    """The card of the served model, or what is wrong with its file and how to mend it."""
    try:
        return model_card(manager.get(dataset))
    except ModelFileError as err:
        return (f"⚠️ **The {dataset_info(dataset).title} model cannot be loaded**: {err}. Nothing was overwritten. "
                f"Mend it by training a new one in the **Model** tab with *save* ticked (needs the training data), "
                f"or restore the shipped file (`git checkout {manager.model_path(dataset).parent.name}/`) and press "
                f"*Reload the saved model*.")
