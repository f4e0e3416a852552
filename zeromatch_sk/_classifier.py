# placeholder: being written right now by the core-estimator author
from sklearn.base import BaseEstimator, ClassifierMixin


class ZeroMatchClassifier(ClassifierMixin, BaseEstimator):
    pass
