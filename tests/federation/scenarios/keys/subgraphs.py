"""Keys: several keys on one type, compound keys, nested keys, and `resolvable: false`.

accounts knows users by id and by email; billing only by email; audit refers to users by id
but cannot resolve them (`resolvable: false`), so audit -> billing goes through accounts.
"""

from __future__ import annotations

import strawberry
from strawberry.federation.schema_directives import Key

from tests.federation.corpus import Subgraph

USERS = {"u1": ("ada@example.com", "Ada"), "u2": ("lin@example.com", "Lin")}
BY_EMAIL = {email: uid for uid, (email, _) in USERS.items()}
PLANS = {"ada@example.com": "pro", "lin@example.com": "free"}


@strawberry.federation.type(shareable=True)
class Org:
    id: strawberry.ID


@strawberry.federation.type(keys=["org login"])
class Member:
    org: str
    login: str


@strawberry.federation.type(keys=["id office { id }"])
class Seat:
    id: strawberry.ID
    office: Org


@strawberry.federation.type(keys=["id", "email"])
class User:
    id: strawberry.ID
    email: str
    name: str

    @strawberry.field
    def membership(self) -> Member:
        return Member(org="acme", login=self.name.lower())

    @strawberry.field
    def seat(self) -> Seat:
        return Seat(id=strawberry.ID(f"s-{self.id}"), office=Org(id=strawberry.ID("oslo")))

    @classmethod
    def resolve_reference(cls, **rep: str) -> User | None:
        uid = rep.get("id") or BY_EMAIL.get(rep.get("email", ""))
        if uid not in USERS:
            return None
        return cls(id=strawberry.ID(uid), email=USERS[uid][0], name=USERS[uid][1])


@strawberry.type
class AccountsQuery:
    @strawberry.field
    def users(self) -> list[User]:
        return [User.resolve_reference(id=uid) for uid in USERS]  # type: ignore[misc]


@strawberry.federation.type(name="User", keys=["email"])
class BilledUser:
    email: str

    @strawberry.field
    def plan(self) -> str:
        return PLANS[self.email]

    @classmethod
    def resolve_reference(cls, email: str) -> BilledUser:
        return cls(email=email)


@strawberry.type
class BillingQuery:
    @strawberry.field
    def billed_user(self, email: str) -> BilledUser | None:
        return BilledUser(email=email) if email in PLANS else None


@strawberry.federation.type(name="Member", keys=["org login"])
class OrgMember:
    org: str
    login: str

    @strawberry.field
    def title(self) -> str:
        return f"{self.login} of {self.org}"

    @classmethod
    def resolve_reference(cls, org: str, login: str) -> OrgMember:
        return cls(org=org, login=login)


@strawberry.federation.type(name="Org", shareable=True)
class Office:
    id: strawberry.ID


@strawberry.federation.type(name="Seat", keys=["id office { id }"])
class Desk:
    id: strawberry.ID
    office: Office

    @strawberry.field
    def desk(self) -> str:
        return f"desk {self.id} in {self.office.id}"

    @classmethod
    def resolve_reference(cls, id: strawberry.ID, office: dict[str, str]) -> Desk:
        return cls(id=id, office=Office(id=strawberry.ID(office["id"])))


@strawberry.federation.type(name="User", keys=[Key(fields="id", resolvable=False)])
class Actor:
    id: strawberry.ID


@strawberry.type
class Event:
    id: strawberry.ID
    actor: Actor


@strawberry.type
class AuditQuery:
    @strawberry.field
    def events(self) -> list[Event]:
        return [
            Event(id=strawberry.ID("e1"), actor=Actor(id=strawberry.ID("u2"))),
            Event(id=strawberry.ID("e2"), actor=Actor(id=strawberry.ID("u1"))),
            Event(id=strawberry.ID("e3"), actor=Actor(id=strawberry.ID("u2"))),
        ]


SUBGRAPHS = {
    "accounts": Subgraph(query=AccountsQuery, types=[User, Member, Seat, Org]),
    "billing": Subgraph(query=BillingQuery, types=[BilledUser]),
    "orgs": Subgraph(types=[OrgMember, Desk, Office]),
    "audit": Subgraph(query=AuditQuery, types=[Actor]),
}
