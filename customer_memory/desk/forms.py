from django import forms
from django.utils import timezone

from interactions.choices import Channel, PromiseKind
from interactions.models import Agent, Case


def _agents():
    return Agent.objects.filter(is_active=True).order_by("name")


class HandoverForm(forms.Form):
    customer = forms.UUIDField(widget=forms.HiddenInput)
    case = forms.ModelChoiceField(queryset=Case.objects.none(), empty_label=None)
    from_agent = forms.ModelChoiceField(queryset=_agents(), label="From")
    to_agent = forms.ModelChoiceField(queryset=_agents(), label="To")
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)

    def __init__(self, *args, customer=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["case"].queryset = (
            Case.objects.filter(customer=customer).active() if customer else Case.objects.none()
        )
        self.fields["from_agent"].queryset = _agents()
        self.fields["to_agent"].queryset = _agents()

    def clean(self):
        data = super().clean()
        if data.get("from_agent") and data.get("from_agent") == data.get("to_agent"):
            self.add_error("to_agent", "Hand over to another agent.")
        return data


class PromiseForm(forms.Form):
    customer = forms.UUIDField(widget=forms.HiddenInput)
    kind = forms.ChoiceField(choices=PromiseKind.choices)
    due_at = forms.DateTimeField(
        label="Due (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )
    channel = forms.ChoiceField(choices=[("", "any channel"), *Channel.choices], required=False)
    owner = forms.ModelChoiceField(queryset=_agents(), required=False, empty_label="(nobody yet)")
    case = forms.ModelChoiceField(queryset=Case.objects.none(), required=False, empty_label="(no case)")
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, required=False)

    def __init__(self, *args, customer=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["case"].queryset = (
            Case.objects.filter(customer=customer).active() if customer else Case.objects.none()
        )
        self.fields["owner"].queryset = _agents()

    def clean_due_at(self):
        due_at = self.cleaned_data["due_at"]
        if due_at < timezone.now():
            raise forms.ValidationError("The due time is in the past.")
        return due_at
