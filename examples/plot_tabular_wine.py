"""
Tabular data: a rule teacher written by column names
====================================================

A zero-shot teacher need not be a foundation model. On tabular data it is
often a rule an expert can write down without seeing labels: "wines low in
flavanoids are Barbera". Written against the columns of a
:class:`pandas.DataFrame`, such a rule needs the **raw** table, while the
student needs scaled numbers. :func:`zeromatch_sk.pipeline.make_pipeline`
gives each what it needs: the provider labels the raw DataFrame, the
classifier learns from the scaled features.

The data is scikit-learn's wine recognition set: 178 wines from three
cultivars of the same Italian region (Barolo, Grignolino and Barbera), 13
chemical measurements each. Only a few wines per cultivar get a label.
"""

# %%
# The rule, fixed before looking at any result
# --------------------------------------------
# The three cultivars are told apart by a few well-known traits: Barbera is
# poor in flavanoids (the phenols that make red wine astringent), Barolo is
# rich in the amino acid proline, and Grignolino is a light-coloured wine.
# The thresholds below come from those descriptions, written down before
# anything was measured, and were not tuned afterwards. Where none of the
# traits applies, the rule hedges between Barolo and Grignolino.
#
# The rule receives the classes it must score, in the order the classifier
# uses (sorted labels); it looks each one up by name.
import numpy as np

CULTIVARS = ["Barolo", "Grignolino", "Barbera"]  # wine's target 0, 1, 2


def wine_rule(X, classes):
    """Probabilities over ``classes`` from three traits of the raw DataFrame ``X``."""
    barbera = X["flavanoids"].to_numpy() < 1.4
    barolo = ~barbera & (X["proline"].to_numpy() > 1000)
    grignolino = ~barbera & ~barolo & (X["color_intensity"].to_numpy() < 3.8)
    unsure = ~(barbera | barolo | grignolino)
    P = np.full((len(X), 3), 0.1)  # columns: Barolo, Grignolino, Barbera
    P[barolo, 0] = 0.8
    P[grignolino, 1] = 0.8
    P[barbera, 2] = 0.8
    P[unsure] = [0.45, 0.45, 0.1]
    return P[:, [CULTIVARS.index(c) for c in classes]]
