"""Services of the edge box (MEC node): the ledger node, later the offload worker."""
