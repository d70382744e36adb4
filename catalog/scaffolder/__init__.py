"""The scaffolder: Backstage ``scaffolder.backstage.io/v1beta3`` Templates from the catalog, their parameters, their
expressions (``expressions``), the actions their steps name (``actions``) and the checks made before a run starts
(``template``)."""
