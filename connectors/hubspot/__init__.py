"""HubSpot CRM: the connector (hubspot-api-client) and, in `emulator`, a local HubSpot to run it against."""

from connectors.hubspot.connector import HubSpotConnector

__all__ = ["HubSpotConnector"]
