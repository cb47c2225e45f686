"""A model served by the embedding role, used over HTTP by a process that does not load it."""

from __future__ import annotations

import base64
import time
from typing import TYPE_CHECKING

import httpx
import numpy as np
from tokenizers import Tokenizer

from ..errors import ServiceUnavailable, Timeout, TooManyRequests, ValidationFailed
from .service import Embedded, check_texts

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..auth.tokens import TokenService
    from .model import ModelInfo
    from .schedule import Lane

EMBED_PATH = "/internal/v1/embed"


class RemoteEmbedder:
    """The embedding role's model `name` ("general" or "personal").

    The tokenizer is read from the same model files, so chunks are cut by the
    tokens the remote model counts. Each call carries a short-lived service
    token signed with the key every role shares.
    """

    def __init__(
        self,
        name: str,
        info: ModelInfo,
        base_url: str,
        client: httpx.AsyncClient,
        tokens: TokenService,
    ) -> None:
        self.name = name
        self.info = info
        self.base_url = base_url
        self.client = client
        self.tokens = tokens
        self._tokenizer: Tokenizer | None = None
        self._token: tuple[float, str] = (0.0, "")

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            tokenizer = Tokenizer.from_file(str(self.info.directory / "tokenizer.json"))
            tokenizer.enable_truncation(max_length=self.info.max_tokens)
            tokenizer.no_padding()
            self._tokenizer = tokenizer
        return self._tokenizer

    async def embed(
        self, texts: Sequence[str], *, lane: Lane = "query", query: bool = False
    ) -> Embedded:
        check_texts(texts)  # before encoding the body, as the role itself would
        body = {"model": self.name, "texts": list(texts), "lane": lane, "query": query}
        try:
            response = await self.client.post(
                self.base_url + EMBED_PATH,
                json=body,
                headers={"Authorization": f"Bearer {self._service_token()}"},
            )
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(
                f"the embedding role at {self.base_url} cannot be reached ({type(exc).__name__})"
            ) from None
        if response.status_code == 429:
            raise TooManyRequests("the embedding queue is full; try again shortly", retry_after=1)
        if response.status_code in (422, 504):
            try:
                said = response.json()
            except ValueError:
                said = {}
            answered = f"the embedding role answered {response.status_code}"
            message = str(said.get("message", answered))
            if response.status_code == 504:
                raise Timeout(message)
            raise ValidationFailed(message, said.get("details"))
        if not response.is_success:
            raise ServiceUnavailable(f"the embedding role answered {response.status_code}")
        answer = response.json()
        raw = np.frombuffer(base64.b64decode(answer["vectors"]), dtype="<f4")
        return Embedded(raw.reshape(len(texts), self.info.dimension), int(answer["tokens"]))

    def _service_token(self) -> str:
        expires, token = self._token
        if expires - time.time() < 60:
            token, claims = self.tokens.issue("service", self.name, version=0, role="service")
            self._token = (claims.expires, token)
        return token
