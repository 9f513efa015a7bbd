"""The core of crm: entities, hook specifications, storage, config and the segmentation pipeline.

Nothing in this package imports a plugin; plugins reach the core through `crm.core.hooks` and the
public names re-exported by `crm`.
"""
