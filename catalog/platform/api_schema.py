"""How the OpenAPI schema (/api/schema/, /api/docs/) documents who may call an operation.

drf-spectacular lists every authentication scheme and then `{}` (none) for an AllowAny view, and
Swagger UI draws a lock on any operation whose `security` is not exactly `[{}]`: every operation of
/api/docs/ showed one, although every read works anonymously. An operation anyone may call now says
`[{}]`; the schemes stay declared (components.securitySchemes, behind Swagger UI's Authorize button)
for an operation that requires one. Its own module: the authentication classes (api_auth) are
imported by DRF's settings, which drf-spectacular's AutoSchema imports in turn.
"""

from drf_spectacular.openapi import AutoSchema


class AnonymousFirstSchema(AutoSchema):
    def get_auth(self):
        auths = super().get_auth()
        return [{}] if {} in auths else auths
