"""What happens to a claimed message once its handler has run, in the order a job applies it:

1. :mod:`.handler`: ``Handler`` calls the live host's handler and collects its effects
   (sends, responses, business process context, log lines) into an ``Outcome``;
2. :mod:`.reply_policy`: ``ReplyPolicy`` applies the item's ReplyCodeActions (parsed by
   :mod:`.reply_code_actions`: retry, suspend, disable, fail, complete, warn) and AlertOnError
   to that outcome;
3. :mod:`.outcome`: ``apply_outcome`` writes the outcome in the delivery's completion
   transaction, while the job still holds the message's lease.

Import from the modules themselves: :mod:`iop.engine.hosts` reads ReplyCodeActions from
:mod:`.reply_code_actions` while :mod:`.handler` needs :mod:`iop.engine.hosts`.
"""
