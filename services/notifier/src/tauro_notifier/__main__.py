"""``python -m tauro_notifier``: the notifier as its own process (distributed mode).

``python -m tauro_notifier secret`` prints the webhook signing secret of this deployment
(``NOTIFY_WEBHOOK_SECRET``, or the one derived from ``SECRET_KEY``), for receivers to verify
``X-Tauro-Signature``.
"""

from __future__ import annotations

import sys

from tauro_platform.adapters import Adapters
from tauro_platform.process import run_service
from tauro_platform.settings import Settings, load_settings

from tauro_notifier.channels import webhook_secret
from tauro_notifier.service import NotifierService


async def _start(adapters: Adapters, settings: Settings) -> NotifierService:
    service = NotifierService(adapters, settings, settings.tauro_instance_id)
    await service.start()
    return service


def main(argv: list[str]) -> None:
    if argv[:1] == ["secret"]:
        print(webhook_secret(load_settings()))
        return
    run_service("notifier", _start)


if __name__ == "__main__":
    main(sys.argv[1:])
