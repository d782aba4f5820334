from tests.delivery.conftest import rig, rig_settings  # noqa: F401  (the same rig as the send tests)
