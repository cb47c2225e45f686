"""Conversations: their scope and title, and their turns (the RagQuery records naming them).

Only the owner reads or changes a conversation; to anyone else, administrators
included, it does not exist (NotFound), as a conversation is a private
exchange: what administrators audit is the query history.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Final

from beanie import PydanticObjectId

from ..errors import NotFound
from ..storage.models import Conversation, RagQuery
from .followup import HISTORY_TURNS, Turn

if TYPE_CHECKING:
    from beanie.odm.queries.find import FindMany

    from ..storage.mongo import MongoStore
    from ..users.views import Principal

TITLE_CHARS: Final = 80  # of the first question, when a conversation has no title


class Conversations:
    def __init__(self, mongo: MongoStore) -> None:
        self.mongo = mongo

    async def create(
        self, principal: Principal, title: str, area_ids: list[str], include_personal: bool
    ) -> Conversation:
        conversation = Conversation(
            user_id=principal.user_id,
            title=title.strip(),
            area_ids=area_ids,
            include_personal=include_personal,
        )
        with self.mongo.breaker.guard():
            await conversation.insert()
        return conversation

    async def page(
        self, principal: Principal, offset: int, limit: int
    ) -> tuple[list[Conversation], int]:
        """The caller's conversations, the most recently active first."""
        with self.mongo.breaker.guard():
            found = Conversation.find(Conversation.user_id == principal.user_id)
            total = await found.count()
            items = await found.sort("-updated_at").skip(offset).limit(limit).to_list()
        return items, total

    async def get(self, principal: Principal, conversation_id: str) -> Conversation:
        """The caller's conversation, or NotFound (for an id of anyone else's too)."""
        if not PydanticObjectId.is_valid(conversation_id):
            raise NotFound("no such conversation")
        with self.mongo.breaker.guard():
            conversation = await Conversation.get(PydanticObjectId(conversation_id))
        if conversation is None or conversation.user_id != principal.user_id:
            raise NotFound("no such conversation")
        return conversation

    async def update(
        self, principal: Principal, conversation_id: str, fields: dict[str, Any]
    ) -> Conversation:
        conversation = await self.get(principal, conversation_id)
        if "title" in fields:
            fields["title"] = str(fields["title"]).strip()
        changes = {**fields, "updated_at": time.time()}
        with self.mongo.breaker.guard():
            result = await self.mongo.collection("conversations").update_one(
                {"_id": conversation.id, "user_id": principal.user_id}, {"$set": changes}
            )
        if not result.matched_count:  # deleted meanwhile
            raise NotFound("no such conversation")
        changed: Conversation = conversation.model_copy(update=changes)
        return changed

    async def delete(self, principal: Principal, conversation_id: str) -> None:
        """The conversation and its turns (with the feedback given on them)."""
        conversation = await self.get(principal, conversation_id)
        with self.mongo.breaker.guard():
            await conversation.delete()
            await self._turns_of(str(conversation.id), principal.user_id).delete()

    async def turns(
        self, conversation: Conversation, offset: int, limit: int
    ) -> tuple[list[RagQuery], int]:
        """The conversation's turns, oldest first."""
        with self.mongo.breaker.guard():
            found = self._turns_of(str(conversation.id), conversation.user_id)
            total = await found.count()
            items = await found.sort("created_at").skip(offset).limit(limit).to_list()
        return items, total

    async def recent(self, conversation: Conversation, turns: int = HISTORY_TURNS) -> list[Turn]:
        """The last `turns` turns, oldest first: what a follow-up is asked after."""
        with self.mongo.breaker.guard():
            found = self._turns_of(str(conversation.id), conversation.user_id)
            latest = await found.sort("-created_at").limit(turns).to_list()
        return [Turn(q.question, q.answer) for q in reversed(latest)]

    async def answered(self, record: RagQuery) -> None:
        """Count a new turn: the conversation moves up, and takes a title if it has none.

        A conversation deleted while the answer was written loses the turn too.
        """
        now = time.time()
        key = PydanticObjectId(record.conversation_id)
        owner = {"_id": key, "user_id": record.user_id}
        title = " ".join(record.question.split())[:TITLE_CHARS].rstrip()
        conversations = self.mongo.collection("conversations")
        with self.mongo.breaker.guard():
            counted = await conversations.update_one(
                owner, {"$set": {"updated_at": now}, "$inc": {"turns": 1}}
            )
            if not counted.matched_count:
                await record.delete()
                return
            await conversations.update_one({**owner, "title": ""}, {"$set": {"title": title}})

    @staticmethod
    def _turns_of(conversation_id: str, user_id: str) -> FindMany[RagQuery]:
        return RagQuery.find(
            RagQuery.conversation_id == conversation_id, RagQuery.user_id == user_id
        )
