"""How the instructor page's events ask: each sends what the wall page's module asks (its class, the class's
token, the drawing clicked: ``window.cnnClassWall.asked()``, webapp/static/class_wall.js) in the event's body,
never in a URL, and each handler hands the token to the class's rules, which check it."""

ASKED = "() => [window.cnnClassWall.asked()]"
ASKED_AND = "(_, ...chosen) => [window.cnnClassWall.asked(), ...chosen]"  # the wall's question and choices on the page
PRIVATE = dict(api_visibility="private")  # the page's own events (still callable by index: checked all the same)
