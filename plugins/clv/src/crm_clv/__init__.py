"""crm-clv: historical and predictive customer lifetime value."""

__version__ = "0.1.0"
