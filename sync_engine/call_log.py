"""The store's count of API calls per system per UTC day, all pipelines together (read by `budget.py`)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Integer, String, Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from sync_engine.store_base import StoreBase, metadata

api_calls = Table(  # calls per system per UTC day, all pipelines together (the daily budget)
    "api_calls", metadata,
    Column("system", String(60), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("calls", Integer, nullable=False, default=0),
)


class CallLog(StoreBase):
    """`Store`'s methods on `api_calls`: one row per (system, day), added to by every run."""

    def calls_on(self, system: str, day: Any) -> int:
        with self.begin() as c:
            n = c.execute(select(api_calls.c.calls).where(api_calls.c.system == system,
                                                          api_calls.c.day == str(day))).scalar()
        return int(n or 0)

    def add_calls(self, system: str, day: Any, calls: int) -> None:
        with self.begin() as c:
            res = c.execute(update(api_calls).where(api_calls.c.system == system, api_calls.c.day == str(day))
                            .values(calls=api_calls.c.calls + calls))
            if res.rowcount == 0:
                try:
                    with c.begin_nested():
                        c.execute(insert(api_calls).values(system=system, day=str(day), calls=calls))
                except IntegrityError:  # another replica inserted the day's row first
                    c.execute(update(api_calls).where(api_calls.c.system == system, api_calls.c.day == str(day))
                              .values(calls=api_calls.c.calls + calls))
