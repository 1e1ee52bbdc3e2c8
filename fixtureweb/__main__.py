"""Serve the demo press site until interrupted: `python -m fixtureweb [--port N]`."""

from __future__ import annotations

import argparse
import sys
import time

from core.settings import get_settings
from fixtureweb.demo import DemoSite


def main(argv: list[str] | None = None) -> int:
    """Serve the demo site until interrupted: `python -m fixtureweb [--port N]`."""
    settings = get_settings()
    parser = argparse.ArgumentParser(description="Serve the demo press site on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=settings.web.demo_port)
    parser.add_argument("--extra", type=int, default=200, help="VNTC articles to add")
    args = parser.parse_args(argv)
    site = DemoSite(port=args.port, settings=settings, extra_limit=args.extra).start()
    print(f"Demo site: {site.base_url}/ (feed {site.feed_url}), {len(site.articles)} articles")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        site.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
