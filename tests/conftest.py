pytest_plugins = ["pytest_jupyter.jupyter_server", "rtc_presence.pytest_plugin"]
