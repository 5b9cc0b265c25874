"""The model's card in the page header: what it is, how good, when and how it was trained."""
from __future__ import annotations

from cnn.architecture import architecture_of
from cnn.datasets import dataset_info
from cnn.model_card import ModelCard
from cnn.model_manager import ModelManager, ServedModel
from cnn.model_store import ModelFileError


def made(card: ModelCard) -> str:
    """How the card's model was made: trained from scratch, or fine-tuned from another's."""
    return "fine-tuned" if card.fine_tuned_from else "trained"


def model_card(served: ServedModel) -> str:
    card = served.card
    title = dataset_info(served.dataset).title
    arch = architecture_of(served.model)
    lines = [f"**{title} model**, {served.model.count_params():,} parameters: {arch.describe()}"]
    if card is not None:
        recipe = card.config
        recipe_text = f"{recipe.epochs} epoch{'s' if recipe.epochs != 1 else ''}, batch {recipe.batch_size}, " \
                      f"Adam lr {recipe.learning_rate:g}" \
                      f"{' (cosine decay)' if recipe.lr_schedule == 'cosine' else ''}" \
                      f"{', augmented' if recipe.augment else ''}, seed {recipe.seed}"
        lines.append(f"test accuracy **{card.test_accuracy:.2%}** on 10,000 unseen images · {made(card)} "
                     f"{card.trained_at[:16].replace('T', ' ')} UTC on {card.train_images:,} images "
                     f"({recipe_text}, {card.training_seconds:.0f} s)")
        if card.fine_tuned_from:
            base = card.fine_tuned_from
            lines.append(f"from the model {made(base)} {base.trained_at[:10]} on {base.train_images:,} images "
                         f"(test accuracy {base.test_accuracy:.2%})")
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
