"""The whole Adobe Pass journey with the passauth Python package: register, pick a TV provider,
authenticate (code + URL for a second screen, then poll), preauthorize, authorize, log out.

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
        print(f"[python] registered as {registration.client_id} (new registration: {registration.registered})")

        providers = client.mvpds(temp_pass=False)
        print("[python] providers:", ", ".join(m.display_name for m in providers))
        mvpd = providers[0]
        client.select_mvpd(mvpd)

        session = client.create_session(mvpd.id, "adobe.com", "https://adobe.com")
        print(f"[python] code: {session.code}  (open {session.url} to log in)", flush=True)
        with client.poll(session.code, not_after_ms=session.not_after_ms) as poll:
            profile = poll.wait(timeout=120)[mvpd.id]
        print(f"[python] logged in with {profile.mvpd} until {profile.not_after:%Y-%m-%d %H:%M} UTC")

        for decision in client.preauthorize(mvpd.id, ["REF30", "REF40"]):
            print(f"[python] may show {decision.resource}: {'yes' if decision.authorized else 'no'}")
        for decision in client.authorize(mvpd.id, ["REF30"]):
            validity = decision.token.not_after if decision.token else None
            print(f"[python] play {decision.resource}: {'authorized' if decision.authorized else 'denied'} "
                  f"(source {decision.source}, media token valid until {validity})")

        logout = client.logout(mvpd.id, "https://adobe.com")
        for action in logout.actions:
            print(f"[python] logged out: {action.action_name} ({action.action_type})")
        print("[python] stats:", client.stats())


if __name__ == "__main__":
    try:
        main(sys.argv[1], sys.argv[2])
    except passauth.PassAuthError as error:
        print(f"[python] {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
