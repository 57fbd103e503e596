"""Open Inference Protocol (KServe v2) edges: REST at ``/v2`` and the gRPC service.

Both edges only translate: OIP tensors become the canonical :class:`InferenceRequest`
(``codec``), the shared core answers, and the answer is encoded back. Errors are mapped once,
in ``errors``.
"""
