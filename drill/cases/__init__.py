"""The failure classes the drill walks, one module a class, in game-day order."""
from __future__ import annotations

from typing import TYPE_CHECKING

from drill.case import Case
from drill.cases import auth_expired, lock_contention, network, picklist_mismatch, rate_limited, remote_unavailable

if TYPE_CHECKING:
    from drill.run import Drill

ORDER = (auth_expired, rate_limited, remote_unavailable, lock_contention, network, picklist_mismatch)


def all_cases(drill: Drill) -> list[Case]:
    """Every case, built against this drill's world (its emulators, config and mappings)."""
    return [case for module in ORDER for case in module.cases(drill)]
