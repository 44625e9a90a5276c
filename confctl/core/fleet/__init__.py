"""One view across vendors: the common conference/participant model every vendor maps onto (model.py), the
connection a vendor model talks through (connection.py), the live model that folds event envelopes and polled
snapshots into that view (live.py), and the cross-vendor commands built on them."""
