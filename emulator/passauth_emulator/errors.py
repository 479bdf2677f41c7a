"""Error bodies in the shapes the reference documentation shows.

REST API V2 errors are "Enhanced Error Codes" (features-standard/error-reporting/
enhanced-error-codes.md); DCR errors are RFC 7591/6749 style ``{"error": ...}``
objects; the throttle answers with the load balancer's HTML page
(throttling-mechanism.md).
"""

from __future__ import annotations

import uuid
from typing import Any, Dict, Optional, Tuple

HELP_URL = ("https://experienceleague.adobe.com/docs/pass/authentication/"
            "auth-features/error-reportn/enhanced-error-codes.html")

# code -> (action, status, message), copied from the REST API v2 list.
# The last three entries are not in the list: the docs give the status for
# these cases (405, 404, wrong Content-Type -> 400) but no code.
CATALOG: Dict[str, Tuple[str, int, str]] = {
    "invalid_parameter_service_provider": ("none", 400, "The service provider parameter value is missing or invalid."),
    "invalid_parameter_mvpd": ("none", 400, "The mvpd parameter value is missing or invalid."),
    "invalid_parameter_code": ("none", 400, "The code parameter value is missing or invalid."),
    "invalid_parameter_resources": ("none", 400, "The resources parameter value is missing or invalid."),
    "invalid_parameter_redirect_url": ("none", 400, "The redirect URL parameter value is missing or invalid."),
    "invalid_parameter_partner": ("none", 400, "The partner parameter value is missing or invalid."),
    "invalid_parameter_saml_response": ("none", 400, "The SAML response parameter value is missing or invalid."),
    "invalid_header_device_info": ("none", 400, "The device information header value is missing or invalid."),
    "invalid_header_device_identifier": ("none", 400, "The device identifier header value is missing or invalid."),
    "invalid_header_identity_for_temporary_access": ("none", 400, "The identity for temporary access header value is missing or invalid."),
    "invalid_header_pfs_permission_access_not_present": ("none", 400, "The permission access status value from the partner framework status header is not present."),
    "invalid_header_pfs_permission_access_not_determined": ("none", 400, "The permission access status value from the partner framework status header is undetermined."),
    "invalid_header_pfs_permission_access_not_granted": ("none", 400, "The permission access status value from the partner framework status header is not granted."),
    "invalid_header_pfs_provider_id_not_determined": ("none", 400, "The provider id value from the partner framework status header is not associated with a known mvpd."),
    "invalid_header_pfs_provider_id_mismatch": ("none", 400, "The provider id value from the partner framework status header does not match the mvpd sent as parameter."),
    "invalid_header_pfs_provider_info_expired": ("none", 400, "The provider information from the partner framework status header has expired."),
    "invalid_integration": ("none", 400, "The integration between the specified service provider and mvpd does not exist or is disabled."),
    "invalid_authentication_session": ("none", 400, "The authentication session associated with this request is missing or invalid."),
    "preauthorization_denied_by_mvpd": ("none", 403, "The MVPD has returned a \u201cDeny\u201d decision when requesting pre-authorization for the specified resource."),
    "authorization_denied_by_mvpd": ("none", 403, "The MVPD has returned a \"Deny\" decision when requesting authorization for the specified resource."),
    "authorization_denied_by_parental_controls": ("none", 403, "The MVPD has returned a \"Deny\" decision due parental controls settings for the specified resource."),
    "authorization_denied_by_degradation_rule": ("none", 403, "The integration between the specified service provider and mvpd has a degradation rule applied that denies authorization for the requested resources."),
    "internal_server_error": ("none", 500, "The request failed due to an internal server error."),
    "too_many_resources": ("configuration", 403, "The authorization or preauthorization request failed because too many resources were queried. Please contact support team to properly configure the authorization and preauthorization limitations."),
    "invalid_configuration_temporary_access": ("configuration", 500, "The temporary access configuration is invalid."),
    "invalid_access_token_service_provider": ("application-registration", 401, "The access token is invalid due to invalid service provider."),
    "invalid_access_token_client_application": ("application-registration", 401, "The access token is invalid due to invalid client application."),
    "authenticated_profile_missing": ("authentication", 403, "The authenticated profile associated with this request is missing."),
    "authenticated_profile_expired": ("authentication", 403, "The authenticated profile associated with this request has expired."),
    "authenticated_profile_invalidated": ("authentication", 403, "The authenticated profile associated with this request has been invalidated."),
    "temporary_access_duration_limit_exceeded": ("authentication", 403, "The temporary access duration limit has been exceeded."),
    "temporary_access_resources_limit_exceeded": ("authentication", 403, "The temporary access resources limit has been exceeded."),
    "authorization_denied_by_hba_policies": ("authentication", 403, "The MVPD has returned a \"Deny\" decision due home-based authentication policies."),
    "authorization_denied_by_session_invalidated": ("authentication", 403, "The authentication session was invalidated by the identity provider. The user must re-authenticate with a supported MVPD in order to continue."),
    "identity_not_recognized_by_mvpd": ("authentication", 403, "The authorization request failed due to the fact that user identity was not recognized by the MVPD."),
    "network_received_error": ("retry", 403, "There was a read error while retrieving the response from the associated partner service. Retrying the request might solve the issue."),
    "network_connection_timeout": ("retry", 403, "There was a connection timeout with the associated partner service. Retrying the request might solve the issue."),
    "maximum_execution_time_exceeded": ("retry", 403, "The request did not complete in the maximum allowed time. Retrying the request might solve the issue."),
    "invalid_header_content_type": ("none", 400, "The Content-Type header value is missing or invalid."),
    "method_not_allowed": ("none", 405, "The HTTP method is not allowed for the requested resource."),
    "not_found": ("none", 404, "The requested resource does not exist."),
}

THROTTLE_HTML = (b"<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n"
                 b"<center><h1>429 Too Many Requests</h1></center>\r\n"
                 b"<hr><center>openresty</center>\r\n</body>\r\n</html>\r\n")


def enhanced(code: str, status: Optional[int] = None, action: Optional[str] = None,
             message: Optional[str] = None, details: Optional[str] = None) -> Dict[str, Any]:
    """An enhanced error object; unknown codes are allowed (fault injection)."""
    known_action, known_status, known_message = CATALOG.get(code, ("none", 500, code))
    body: Dict[str, Any] = {
        "action": action or known_action,
        "status": status or known_status,
        "code": code,
        "message": message or known_message,
    }
    if details:
        body["details"] = details
    body["helpUrl"] = HELP_URL
    body["trace"] = str(uuid.uuid4())
    return body


class ApiError(Exception):
    """Raised by REST API V2 handlers: answered as a top-level enhanced error."""

    def __init__(self, code: str, status: Optional[int] = None, details: Optional[str] = None,
                 headers: Optional[Dict[str, str]] = None) -> None:
        super().__init__(code)
        self.body = enhanced(code, status=status, details=details)
        self.status: int = self.body["status"]
        self.headers: Dict[str, str] = headers or {}


class DcrError(Exception):
    """Raised by DCR handlers: answered as ``{"error": code}`` with status 400."""

    def __init__(self, code: str, status: int = 400) -> None:
        super().__init__(code)
        self.code = code
        self.status = status


class HtmlError(Exception):
    """Raised by the user-agent endpoint, whose errors are text/html."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text
