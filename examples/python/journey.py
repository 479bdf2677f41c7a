"""The Adobe Pass journey with the passauth Python package.

    python3 examples/python/journey.py <base-url> <store-dir>
"""

import sys

import passauth

SOFTWARE_STATEMENT = "eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6ImRlbW8ifQ.c2lnbmF0dXJl"


def main(base_url: str, store: str) -> None:
    config = {
        "baseUrl": base_url,
        "serviceProvider": "REF30",
        "softwareStatement": SOFTWARE_STATEMENT,
        "store": store,
        "device": {"id": "python-demo-device", "info": {"primaryHardwareType": "Desktop", "model": "Demo",
                                                        "vendor": "passauth", "osName": "Linux"}},
    }
    with passauth.Client(config) as client:
        registration = client.register()
        print(f"[python] registered as {registration.client_id} "
              f"(new registration: {registration.registered}, token valid until {registration.access_token_expires_at})")
        configuration = client.configuration()
        print("[python] TV providers:", ", ".join(m.display_name for m in configuration.mvpds))
        print("[python] stats:", client.stats())


if __name__ == "__main__":
    try:
        main(sys.argv[1], sys.argv[2])
    except passauth.PassAuthError as error:
        print(f"[python] {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
