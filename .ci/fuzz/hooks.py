"""Schemathesis hooks for the portal's GraphQL API (loaded by .ci/fuzz/run).

- Strategies for the custom scalars, valid and invalid, so generated
  operations reach the resolvers instead of stopping at coercion.
- One check, `no_internal_errors`: the API's contract is that every failure is
  a GraphQL error with a stable `extensions.code`. Typed outcomes
  (NOT_FOUND, FORBIDDEN, BAD_USER_INPUT, ...) are expected answers to random
  input; an HTTP 5xx, a non-JSON body, an error without a code, or the code
  INTERNAL is a failure.
"""

import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes

EXPECTED_CODES = {
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "BAD_USER_INPUT",
    "CONFLICT",
    "RATE_LIMITED",
    "PAYLOAD_TOO_LARGE",
}

text = st.text(max_size=40)

# Money: a pounds string ("1234.56"); also malformed, negative and huge ones.
schemathesis.graphql.scalar(
    "Money",
    st.one_of(
        st.decimals(min_value=0, max_value=10_000_000, places=2, allow_nan=False, allow_infinity=False).map(
            lambda d: nodes.String(str(d))
        ),
        st.sampled_from(["-1.00", "1.234", "1e3", "", "£5", "99999999999999999999.99"]).map(nodes.String),
        text.map(nodes.String),
    ),
)
# Date: ISO dates, and garbage.
schemathesis.graphql.scalar(
    "Date",
    st.one_of(st.dates().map(lambda d: nodes.String(d.isoformat())), text.map(nodes.String)),
)
schemathesis.graphql.scalar(
    "DateTime",
    st.one_of(
        st.datetimes().map(lambda d: nodes.String(d.isoformat() + "Z")),
        text.map(nodes.String),
    ),
)
# JSON: strings and numbers are valid JSON values too.
schemathesis.graphql.scalar("JSON", st.one_of(text.map(nodes.String), st.integers().map(nodes.Int)))
# Upload: only a multipart request can carry a file; over JSON any value must
# be refused cleanly.
schemathesis.graphql.scalar("Upload", text.map(nodes.String))


@schemathesis.check
def no_internal_errors(ctx, response, case):
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}")
    try:
        body = response.json()
    except Exception as e:  # noqa: BLE001 - any non-JSON body is a failure
        raise AssertionError(f"the response is not JSON: {e}") from None
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if code not in EXPECTED_CODES:
            raise AssertionError(f"error with code {code!r}: {error.get('message')!r}")
