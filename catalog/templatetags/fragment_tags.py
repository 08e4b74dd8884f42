"""`{% fragment key %}…{% endfragment %}`: a part of a page rendered once per catalog version.

The view names the key (catalog.platform.fragments.key: the catalog version first, then what the part
depends on), or gives an empty one when the part depends on the request. With a key, the part's HTML
comes from the fragments cache, else it is rendered and stored. A view that looks its parts up itself
(`kept_fragments` in the context: what fragments.get_many found) skips the queries behind the parts it
found, so the template never queries either way.
"""

from django import template
from django.utils.safestring import mark_safe

from catalog.platform import fragments

register = template.Library()


@register.tag
def fragment(parser, token):
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("{% fragment key %} takes one argument, the fragment's key")
    nodelist = parser.parse(("endfragment",))
    parser.delete_first_token()
    return FragmentNode(parser.compile_filter(bits[1]), nodelist)


class FragmentNode(template.Node):
    def __init__(self, key, nodelist):
        self.key = key
        self.nodelist = nodelist

    def render(self, context):
        key = self.key.resolve(context)
        if not key:
            return self.nodelist.render(context)
        kept = context.get("kept_fragments")
        if kept is None:  # the view did not look: the cache is asked here
            return mark_safe(fragments.cached(key, lambda: str(self.nodelist.render(context))))  # rendered HTML
        if key in kept:
            return mark_safe(kept[key])  # rendered HTML, as stored
        html = str(self.nodelist.render(context))
        fragments.set_many({key: html})
        return mark_safe(html)
