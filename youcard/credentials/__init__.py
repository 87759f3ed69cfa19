"""The YC1 card credential: its codec (codec: encode, sign, verify), the issuers' signing
keys (keys) and the trust list partners verify against (trust). The codec's names are the
package's own: `credentials.verify`, `credentials.Claims`."""

from youcard.credentials.codec import *  # noqa: F403
from youcard.credentials.codec import __all__ as __all__
