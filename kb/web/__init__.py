"""The web app's parts (``app.py`` is the entry point): the handlers and the JSON API
(``app``, ``api``), the pages (``pages``, ``staff_page``), the server that mounts them
(``server``), staff sign-in (``auth``), the queue (``webqueue``), the switch to new
generations (``watcher``), start-up (``startup``) and escaped HTML (``render``)."""
