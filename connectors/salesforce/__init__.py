"""Salesforce: the connector (`SalesforceConnector`); its local org is `connectors.salesforce.emulator`."""
from connectors.salesforce.connector import SalesforceConnector

__all__ = ["SalesforceConnector"]
