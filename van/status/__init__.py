"""Live state back from a VAN's hub: ArgoCD Applications (``applications``), the hub watcher
(``watcher``) and the supervisor that runs one watcher per hub across processes (``supervisor``)."""
