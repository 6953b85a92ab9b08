"""The check-in (docs/follow-up.md): a text some days after the advice, asking how the hip is.

The engine offers it and reads its answer; `checkins` books a yes, sends each check-in once
when it falls due and cancels a runner's on STOP; `timing` keeps it out of the quiet hours;
`queue` holds the jobs in huey, beside the conversation store.
"""
