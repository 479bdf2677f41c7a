"""The whole Adobe Pass journey with the passauth Python package: register, pick a TV provider,
authenticate (code, URL and QR code for a second screen, then poll), preauthorize, authorize, log out.

    python3 examples/python/journey.py <base-url> <store-dir> [--verbose]

Ctrl-C while waiting for the login stops at once and cancels the poll. With --verbose the library's
log lines (every exchange) go to stderr through the logging module.
"""

import logging
import sys
from typing import List

import passauth

SOFTWARE_STATEMENT = "eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6ImRlbW8ifQ.c2lnbmF0dXJl"
DEVICE = passauth.Device(id="python-demo-device",
                         info={"primaryHardwareType": "Desktop", "model": "Demo", "version": "1.0", "vendor": "passauth",
                               "osName": "Linux", "osVersion": "6.1", "connectionType": "LAN"})


def print_beside(qr: passauth.QRCode, text: List[str]) -> None:
    """The QR code as terminal text (half blocks, two module rows a line) with `text` beside its middle."""
    lines = qr.to_text().split("\n")
    first = len(lines) // 2 - len(text) // 2
    for number, line in enumerate(lines):
        beside = text[number - first] if 0 <= number - first < len(text) else ""
        print(f"  {line}   {beside}".rstrip())


def log_in(client: passauth.Client, mvpd: passauth.Mvpd) -> passauth.Profile:
    session = client.create_session(mvpd.id, "adobe.com", "https://adobe.com")
    if session.code is None:  # "authorize": a profile exists already (SSO, TempPass, degraded)
        profile = client.profile(mvpd.id)
        if profile is None:
            raise SystemExit(f"[python] unexpected session: {session}")
        return profile
    url = client.authenticate_url(session.code)
    print(f"[python] open {url} on a phone or computer to log in", flush=True)
    print_beside(passauth.qr_code(url), [f"code: {session.code}", "scan it, or open the URL above"])
    sys.stdout.flush()
    with client.poll(session.code, not_after_ms=session.not_after_ms) as poll:
        while True:
            try:
                return poll.wait(timeout=30)[mvpd.id]
            except passauth.PollPending:
                info = poll.info()
                print(f"[python] still waiting ({info.requests} requests so far)", flush=True)


def main(base_url: str, store: str) -> None:
    with passauth.Client(base_url=base_url, service_provider="REF30", software_statement=SOFTWARE_STATEMENT,
                         store=store, device=DEVICE) as client:
        registration = client.register()
        print(f"[python] registered as {registration.client_id} (new registration: {registration.registered})")

        providers = client.mvpds(temp_pass=False)
        print("[python] providers:", ", ".join(m.display_name for m in providers))
        mvpd = providers[0]
        client.select_mvpd(mvpd)

        profile = log_in(client, mvpd)
        print(f"[python] logged in with {profile.mvpd} until {profile.not_after:%Y-%m-%d %H:%M} UTC")

        for decision in client.preauthorize(mvpd.id, ["REF30", "REF40"]):
            print(f"[python] may show {decision.resource}: {'yes' if decision.authorized else 'no'}")
        try:
            decisions = client.authorize(mvpd.id, ["REF30"])
        except passauth.AuthenticationRequiredError as error:
            raise SystemExit(f"[python] log in again: {error.code}")
        for decision in decisions:
            validity = decision.token.not_after if decision.token else None
            print(f"[python] play {decision.resource}: {'authorized' if decision.authorized else 'denied'} "
                  f"(source {decision.source}, media token valid until {validity})")

        logout = client.logout(mvpd.id, "https://adobe.com")
        for action in logout.actions:
            print(f"[python] logged out: {action.action_name} ({action.action_type})")
        stats = client.stats()
        print(f"[python] {stats.get('requestsTotal')} requests, {stats.get('retries')} retries, "
              f"{stats.get('connectionsOpened')} connection(s)")


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--verbose"]
    if len(arguments) != 2:
        sys.exit(__doc__)
    if "--verbose" in sys.argv:
        logging.basicConfig(format="%(name)s %(levelname)s %(message)s")
        logging.getLogger("passauth").setLevel(logging.DEBUG)
    try:
        main(arguments[0], arguments[1])
    except passauth.PassAuthError as error:
        print(f"[python] {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("[python] interrupted; the poll was cancelled", file=sys.stderr)
        sys.exit(130)
