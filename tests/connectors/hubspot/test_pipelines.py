"""Deal pipelines: the emulator's Sales, Renewals and Expansion pipelines, read by the connector as the
stage map check (`revhub check --remote`) needs them, and a stage id refused outside its pipeline."""
from __future__ import annotations

from connectors.base import WriteOp
from connectors.hubspot.connector import HubSpotConnector


def test_connector_lists_each_pipeline_with_its_stage_ids(connector: HubSpotConnector) -> None:
    live = connector.pipeline_stages("deals")
    assert set(live) == {"default", "75e28846", "8a3f02d1"}
    assert live["8a3f02d1"] == ("2001", "2002", "2003", "2004", "2005")
    assert "closedwon" in live["default"] and "closedwon" not in live["8a3f02d1"]


def test_a_stage_id_of_another_pipeline_is_refused(connector: HubSpotConnector) -> None:
    ok, wrong = connector.write("deals", [
        WriteOp("ok", None, {"dealname": "Upsell", "pipeline": "8a3f02d1", "dealstage": "2002"}),
        WriteOp("wrong", None, {"dealname": "Upsell", "pipeline": "8a3f02d1", "dealstage": "closedwon"})])
    assert ok.ok and ok.id
    assert wrong.error is not None and "closedwon" in wrong.error.message
