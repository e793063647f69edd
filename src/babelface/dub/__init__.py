"""Dubbing a real video (`babelface dub`): the new speech and its motion fitted to the video's
timeline (:mod:`~babelface.dub.track`), the speaker's face tracked on every frame
(:mod:`~babelface.dub.tracking`), the lower face re-rendered with a mouth interior retrieved from
the video itself (:mod:`~babelface.dub.mouth_bank`, :mod:`~babelface.dub.render`), streamed frame
by frame (:mod:`~babelface.dub.run`)."""
